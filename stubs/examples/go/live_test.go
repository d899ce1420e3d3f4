// Live calls to a running ota-gateway through the generated Go module, fetched with `go get` from a
// Go module proxy under the company module path corp.example/ota-gateway/client; ErrorInfo is
// compared with the module's generated Domain*/Reason* constants.
//
// Started by stubs/tests/test_live_stubs.py, which runs the gateway and the iot-emulator and sets
// OTA_TARGET, OTA_LIMITED_TARGET (a gateway with --qps=1 --burst=1), OTA_DYNAMIC_JOB and
// OTA_LIMITED_JOB (dynamic batches the emulator knows), and OTA_FIRMWARE_ID, a firmware the
// emulator lists OTA_FIRMWARE_JOB_COUNT batches of: OTA_FIRMWARE_STATIC_JOB (static),
// OTA_FIRMWARE_FINISHED_JOB (completed) and dynamic ones, planned or in progress.
package example

import (
	"context"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	otav1 "corp.example/ota-gateway/client/ota/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

func env(t *testing.T, name string) string {
	t.Helper()
	value := os.Getenv(name)
	if value == "" {
		t.Fatalf("%s is not set: run this through stubs/test.sh", name)
	}
	return value
}

func client(t *testing.T, target string) otav1.OtaStrategyServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient(%s): %v", target, err)
	}
	t.Cleanup(func() { conn.Close() })
	return otav1.NewOtaStrategyServiceClient(conn)
}

func cancel(t *testing.T, target, jobID string, timeout time.Duration) (*otav1.CancelByJobResponse, error) {
	t.Helper()
	ctx, done := context.WithTimeout(context.Background(), timeout)
	defer done()
	return client(t, target).CancelByJob(ctx, &otav1.CancelByJobRequest{JobId: jobID})
}

// richError holds the google.rpc details of a failed call.
type richError struct {
	code       codes.Code
	errorInfo  *errdetails.ErrorInfo
	retryInfo  *errdetails.RetryInfo
	badRequest *errdetails.BadRequest
}

func decode(t *testing.T, err error) richError {
	t.Helper()
	if err == nil {
		t.Fatal("the call succeeded, want an error")
	}
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("not a gRPC status: %v", err)
	}
	decoded := richError{code: st.Code()}
	for _, detail := range st.Details() {
		switch d := detail.(type) {
		case *errdetails.ErrorInfo:
			decoded.errorInfo = d
		case *errdetails.RetryInfo:
			decoded.retryInfo = d
		case *errdetails.BadRequest:
			decoded.badRequest = d
		case error:
			t.Fatalf("undecodable detail: %v", d)
		}
	}
	if decoded.errorInfo == nil {
		t.Fatalf("no ErrorInfo in %v", st.Proto())
	}
	return decoded
}

func TestSuccessReturnsARequestID(t *testing.T) {
	resp, err := cancel(t, env(t, "OTA_TARGET"), env(t, "OTA_DYNAMIC_JOB"), 10*time.Second)
	if err != nil {
		t.Fatalf("CancelByJob: %v", err)
	}
	if resp.GetRequestId() == "" {
		t.Fatal("empty request_id")
	}
	if resp.GetOutcome() != otav1.CancelOutcome_CANCEL_OUTCOME_CANCELLED {
		t.Fatalf("outcome = %v, want CANCEL_OUTCOME_CANCELLED", resp.GetOutcome())
	}
	// Cancelling again is idempotent: OK, already cancelled, with the original RequestId.
	again, err := cancel(t, env(t, "OTA_TARGET"), env(t, "OTA_DYNAMIC_JOB"), 10*time.Second)
	if err != nil {
		t.Fatalf("CancelByJob again: %v", err)
	}
	if again.GetOutcome() != otav1.CancelOutcome_CANCEL_OUTCOME_ALREADY_CANCELLED ||
		again.GetRequestId() != resp.GetRequestId() {
		t.Fatalf("again = %v, want ALREADY_CANCELLED with request_id %q", again, resp.GetRequestId())
	}
}

func TestUnknownJobIsNotFoundWithAlibabaCode(t *testing.T) {
	_, err := cancel(t, env(t, "OTA_TARGET"), "NO-SUCH-JOB-GO", 10*time.Second)
	got := decode(t, err)
	if got.code != codes.NotFound {
		t.Fatalf("code = %v, want NotFound", got.code)
	}
	if got.errorInfo.GetReason() != otav1.ReasonJobNotFound || got.errorInfo.GetDomain() != otav1.DomainAlibabaIot {
		t.Fatalf("ErrorInfo = %v, want %s in %s", got.errorInfo, otav1.ReasonJobNotFound, otav1.DomainAlibabaIot)
	}
	if code := got.errorInfo.GetMetadata()["alibaba_code"]; code != "iot.ota.OtaJobNotExist" {
		t.Fatalf("alibaba_code = %q", code)
	}
	if got.errorInfo.GetMetadata()["alibaba_request_id"] == "" {
		t.Fatal("no alibaba_request_id")
	}
}

func TestMalformedJobIDIsInvalidArgumentNamingTheField(t *testing.T) {
	_, err := cancel(t, env(t, "OTA_TARGET"), "bad id!", 10*time.Second)
	got := decode(t, err)
	if got.code != codes.InvalidArgument {
		t.Fatalf("code = %v, want InvalidArgument", got.code)
	}
	if got.errorInfo.GetReason() != otav1.ReasonInvalidJobId || got.errorInfo.GetDomain() != otav1.DomainGateway {
		t.Fatalf("ErrorInfo = %v, want %s in %s", got.errorInfo, otav1.ReasonInvalidJobId, otav1.DomainGateway)
	}
	if got.badRequest == nil || len(got.badRequest.GetFieldViolations()) != 1 ||
		got.badRequest.GetFieldViolations()[0].GetField() != "job_id" {
		t.Fatalf("BadRequest = %v, want one violation of job_id", got.badRequest)
	}
}

func TestExhaustedQuotaIsResourceExhaustedWithRetryInfo(t *testing.T) {
	target := env(t, "OTA_LIMITED_TARGET")
	if _, err := cancel(t, target, env(t, "OTA_LIMITED_JOB"), 10*time.Second); err != nil {
		t.Fatalf("first call: %v", err)
	}
	_, err := cancel(t, target, "ANY-JOB-GO", 300*time.Millisecond)
	got := decode(t, err)
	if got.code != codes.ResourceExhausted {
		t.Fatalf("code = %v, want ResourceExhausted", got.code)
	}
	if got.errorInfo.GetReason() != otav1.ReasonRateLimited {
		t.Fatalf("reason = %q", got.errorInfo.GetReason())
	}
	if got.retryInfo == nil || got.retryInfo.GetRetryDelay().AsDuration() <= 0 {
		t.Fatalf("RetryInfo = %v, want a positive retry_delay", got.retryInfo)
	}
}

// TestTLSMTLSAndBearerTokenAsTheREADMEShows calls through secureClient, the README's TLS + mTLS +
// token code (readme_usage.go); the test put ca.pem, client.pem and client-key.pem in this folder.
// The gateway knows the callers by token only.
func TestTLSMTLSAndBearerTokenAsTheREADMEShows(t *testing.T) {
	target := env(t, "OTA_SECURE_TARGET")
	call := func(token string) (*otav1.CancelByJobResponse, error) {
		client, conn, err := secureClient(target, token)
		if err != nil {
			t.Fatalf("secureClient: %v", err)
		}
		defer conn.Close()
		ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		return client.CancelByJob(ctx, &otav1.CancelByJobRequest{JobId: env(t, "OTA_SECURE_JOB")})
	}
	if resp, err := call(env(t, "OTA_TOKEN")); err != nil || resp.GetRequestId() == "" {
		t.Fatalf("with the caller's token: %v, %v", resp, err)
	}
	for _, refused := range []struct {
		token, reason string
		code          codes.Code
	}{
		{env(t, "OTA_LIMITED_TOKEN"), otav1.ReasonCallerNotAllowed, codes.PermissionDenied},
		{env(t, "OTA_WRONG_TOKEN"), otav1.ReasonCallerUnauthenticated, codes.Unauthenticated},
	} {
		_, err := call(refused.token)
		got := decode(t, err)
		if got.code != refused.code || got.errorInfo.GetReason() != refused.reason ||
			got.errorInfo.GetDomain() != otav1.DomainGateway {
			t.Fatalf("got %v %v, want %v with %s in %s", got.code, got.errorInfo, refused.code,
				refused.reason, otav1.DomainGateway)
		}
	}
}

// TestListJobsByFirmwarePagesThroughEveryBatch reads the firmware 10 batches a page, by hand and
// through listAllJobs (the README's loop), and checks what the emulator holds.
func TestListJobsByFirmwarePagesThroughEveryBatch(t *testing.T) {
	firmware := env(t, "OTA_FIRMWARE_ID")
	count, err := strconv.Atoi(env(t, "OTA_FIRMWARE_JOB_COUNT"))
	if err != nil {
		t.Fatalf("OTA_FIRMWARE_JOB_COUNT: %v", err)
	}
	c := client(t, env(t, "OTA_TARGET"))
	req := &otav1.ListJobsByFirmwareRequest{FirmwareId: firmware, PageSize: 10}
	jobs := map[string]*otav1.OtaJob{}
	for read := 0; ; {
		ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
		page, err := c.ListJobsByFirmware(ctx, req)
		done()
		if err != nil {
			t.Fatalf("ListJobsByFirmware(%v): %v", req, err)
		}
		want := min(10, count-read)
		if len(page.GetJobs()) != want || page.GetTotalSize() != int32(count) {
			t.Fatalf("page after %d batches: %d jobs, total_size %d; want %d, %d", read,
				len(page.GetJobs()), page.GetTotalSize(), want, count)
		}
		for _, job := range page.GetJobs() {
			jobs[job.GetJobId()] = job
		}
		read += len(page.GetJobs())
		if (page.GetNextPageToken() == "") != (read == count) {
			t.Fatalf("next_page_token %q after %d of %d batches", page.GetNextPageToken(), read, count)
		}
		if read == count {
			break
		}
		req.PageToken = page.GetNextPageToken()
	}
	if len(jobs) != count {
		t.Fatalf("%d distinct batches, want %d", len(jobs), count)
	}

	static, finished := env(t, "OTA_FIRMWARE_STATIC_JOB"), env(t, "OTA_FIRMWARE_FINISHED_JOB")
	if got := jobs[static].GetSelectionType(); got != otav1.SelectionType_SELECTION_TYPE_STATIC {
		t.Fatalf("%s selection_type = %v, want STATIC", static, got)
	}
	if got := jobs[finished].GetJobStatus(); got != otav1.JobStatus_JOB_STATUS_COMPLETED {
		t.Fatalf("%s job_status = %v, want COMPLETED", finished, got)
	}
	var dynamic []string
	now := time.Now()
	for id, job := range jobs {
		if id != static && id != finished {
			dynamic = append(dynamic, id)
		}
		if job.GetFirmwareId() != firmware || job.GetJobType() == otav1.JobType_JOB_TYPE_UNSPECIFIED {
			t.Fatalf("batch %v: want firmware_id %s and a job_type", job, firmware)
		}
		// CreateTime is a *timestamppb.Timestamp (google.protobuf.Timestamp): nil when unset.
		created := job.GetCreateTime()
		if !created.IsValid() || created.AsTime().After(now) || created.AsTime().Before(now.AddDate(-10, 0, 0)) {
			t.Fatalf("batch %s create_time = %v, want a time in the last 10 years", id, created)
		}
		if updated := job.GetUpdateTime(); updated != nil && updated.AsTime().Before(created.AsTime()) {
			t.Fatalf("batch %s update_time %v before create_time %v", id, updated.AsTime(), created.AsTime())
		}
	}
	sort.Strings(dynamic)

	ctx, done := context.WithTimeout(context.Background(), 30*time.Second)
	defer done()
	all, err := listAllJobs(ctx, c, firmware, 0)
	if err != nil {
		t.Fatalf("listAllJobs: %v", err)
	}
	var found []string
	for _, job := range cancellable(all) {
		found = append(found, job.GetJobId())
	}
	sort.Strings(found)
	if len(all) != count || strings.Join(found, ",") != strings.Join(dynamic, ",") {
		t.Fatalf("listAllJobs: %d batches, cancellable %v; want %d, %v", len(all), found, count, dynamic)
	}
}

func TestListJobsByFirmwareWithoutFirmwareIsInvalidArgument(t *testing.T) {
	ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	_, err := client(t, env(t, "OTA_TARGET")).ListJobsByFirmware(ctx, &otav1.ListJobsByFirmwareRequest{})
	got := decode(t, err)
	if got.code != codes.InvalidArgument || got.errorInfo.GetReason() != otav1.ReasonInvalidFirmwareId ||
		got.errorInfo.GetDomain() != otav1.DomainGateway {
		t.Fatalf("got %v %v, want InvalidArgument %s in %s", got.code, got.errorInfo,
			otav1.ReasonInvalidFirmwareId, otav1.DomainGateway)
	}
	if got.badRequest == nil || len(got.badRequest.GetFieldViolations()) != 1 ||
		got.badRequest.GetFieldViolations()[0].GetField() != "firmware_id" {
		t.Fatalf("BadRequest = %v, want one violation of firmware_id", got.badRequest)
	}
}
