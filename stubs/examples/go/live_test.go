// Live calls to a running ota-gateway through the generated Go module, fetched with `go get` from a
// Go module proxy under the company module path corp.example/ota-gateway/client; ErrorInfo is
// compared with the module's generated Domain*/Reason* constants.
//
// Started by stubs/tests/test_live_stubs.py, which runs the gateway and the iot-emulator and sets
// OTA_TARGET, OTA_LIMITED_TARGET (a gateway with --qps=1 --burst=1), OTA_DYNAMIC_JOB and
// OTA_LIMITED_JOB (dynamic batches the emulator knows).
package example

import (
	"context"
	"os"
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
