// The README's TypeScript usage of @ota-gateway/client, type-checked by stubs/test.sh (`tsc -p .` with
// the tsconfig `tsc --init` writes, plus "types": ["node"]) so the published .d.ts files are proven
// to serve TypeScript callers; live calls are in live.test.js.
import { readFileSync } from "node:fs";

import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  type CancelByJobResponse,
  ErrorInfoSchema,
  JobStatus,
  type OtaJob,
  OtaStrategyService,
  REASON_RATE_LIMITED,
  RetryInfoSchema,
  SelectionType,
} from "@ota-gateway/client";

// Plaintext, for local tests against a gateway started with --plaintext.
export function plaintext(target: string): Transport {
  return createGrpcTransport({ baseUrl: `http://${target}` });
}

// TLS, mTLS and the bearer token. Leave out `ca` when a public CA signed the gateway's certificate,
// and `cert` / `key` unless the gateway asks for client certificates (mTLS).
export function secure(target: string, token?: string): Transport {
  const bearer: Interceptor = (next) => async (req) => {
    if (token) req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  return createGrpcTransport({
    baseUrl: `https://${target}`,
    nodeOptions: {
      ca: readFileSync("ca.pem"),
      cert: readFileSync("client.pem"),
      key: readFileSync("client-key.pem"),
    },
    interceptors: [bearer],
  });
}

export async function cancel(transport: Transport, jobId: string): Promise<string> {
  const client = createClient(OtaStrategyService, transport);
  try {
    // Always a deadline: the gateway decides at once whether the shared quota can serve the call.
    const reply: CancelByJobResponse = await client.cancelByJob({ jobId }, { timeoutMs: 10_000 });
    return reply.requestId;
  } catch (err) {
    const e = ConnectError.from(err);
    const [info] = e.findDetails(ErrorInfoSchema);
    const [retry] = e.findDetails(RetryInfoSchema);
    const alibabaCode: string | undefined = info?.metadata["alibaba_code"];
    const retrySeconds: bigint | undefined = retry?.retryDelay?.seconds;
    if (e.code === Code.ResourceExhausted && info?.reason === REASON_RATE_LIMITED) {
      return `retry after ${retrySeconds ?? 0n}s`;
    }
    throw new Error(`${Code[e.code]} ${info?.reason ?? ""} ${alibabaCode ?? ""}`);
  }
}

// Every page of a firmware's batches (AIP-158): each answer's nextPageToken goes back as pageToken,
// the other fields unchanged, until it is empty. pageSize 0: the gateway's 50.
export async function listAllJobs(transport: Transport, firmwareId: string, pageSize = 0): Promise<OtaJob[]> {
  const client = createClient(OtaStrategyService, transport);
  const jobs: OtaJob[] = [];
  let pageToken = "";
  do {
    const page = await client.listJobsByFirmware({ firmwareId, pageSize, pageToken }, { timeoutMs: 10_000 });
    jobs.push(...page.jobs);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return jobs;
}

// The batches CancelByJob can cancel: dynamic, and planned or in progress.
export function cancellable(jobs: OtaJob[]): OtaJob[] {
  return jobs.filter((job) => job.selectionType === SelectionType.DYNAMIC &&
    (job.jobStatus === JobStatus.PLANNED || job.jobStatus === JobStatus.IN_PROGRESS));
}

// createTime is a google.protobuf.Timestamp (seconds: bigint, nanos), undefined when Alibaba did
// not say; timestampDate from @bufbuild/protobuf/wkt makes it a Date.
export function createdAt(job: OtaJob): Date | undefined {
  return job.createTime ? timestampDate(job.createTime) : undefined;
}
