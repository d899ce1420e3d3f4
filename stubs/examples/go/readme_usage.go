// The README's connection code, compiled by `go test` in stubs/test.sh so it cannot drift from the
// grpc-go API; the live calls are in live_test.go.
package example

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"time"

	otav1 "corp.example/ota-gateway/client/ota/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// plaintextClient is for local tests only: a gateway started with --plaintext.
func plaintextClient(target string) (otav1.OtaStrategyServiceClient, *grpc.ClientConn, error) {
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, err
	}
	return otav1.NewOtaStrategyServiceClient(conn), conn, nil
}

// bearerToken sends `authorization: Bearer <token>` with every call, over TLS only.
type bearerToken string

func (t bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

func (bearerToken) RequireTransportSecurity() bool { return true }

// secureClient connects with TLS (the company CA), mTLS (the caller's certificate) and a token.
func secureClient(target, token string) (otav1.OtaStrategyServiceClient, *grpc.ClientConn, error) {
	caPEM, err := os.ReadFile("ca.pem")
	if err != nil {
		return nil, nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, nil, errors.New("ca.pem holds no certificate")
	}
	cert, err := tls.LoadX509KeyPair("client.pem", "client-key.pem") // mTLS only
	if err != nil {
		return nil, nil, err
	}
	creds := credentials.NewTLS(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert},
		MinVersion: tls.VersionTLS12})
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(creds),
		grpc.WithPerRPCCredentials(bearerToken(token)))
	if err != nil {
		return nil, nil, err
	}
	return otav1.NewOtaStrategyServiceClient(conn), conn, nil
}

// listAllJobs reads every page of a firmware's batches (AIP-158): each answer's NextPageToken goes
// back as PageToken, the other fields unchanged, until it is empty. pageSize 0: the gateway's 50.
func listAllJobs(ctx context.Context, client otav1.OtaStrategyServiceClient, firmwareID string,
	pageSize int32) ([]*otav1.OtaJob, error) {
	req := &otav1.ListJobsByFirmwareRequest{FirmwareId: firmwareID, PageSize: pageSize}
	var jobs []*otav1.OtaJob
	for {
		pageCtx, done := context.WithTimeout(ctx, 10*time.Second) // a deadline per page
		page, err := client.ListJobsByFirmware(pageCtx, req)
		done()
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, page.GetJobs()...)
		if page.GetNextPageToken() == "" {
			return jobs, nil
		}
		req.PageToken = page.GetNextPageToken()
	}
}

// cancellable keeps the batches CancelByJob can cancel: dynamic, and planned or in progress.
func cancellable(jobs []*otav1.OtaJob) []*otav1.OtaJob {
	var found []*otav1.OtaJob
	for _, job := range jobs {
		status := job.GetJobStatus()
		if job.GetSelectionType() == otav1.SelectionType_SELECTION_TYPE_DYNAMIC &&
			(status == otav1.JobStatus_JOB_STATUS_PLANNED || status == otav1.JobStatus_JOB_STATUS_IN_PROGRESS) {
			found = append(found, job)
		}
	}
	return found
}

var _ = plaintextClient // shown in the README; the live tests use their own plaintext client
