// The README's TypeScript usage of @ota-gateway/client, type-checked by stubs/test.sh (`tsc -p .` with
// the tsconfig `tsc --init` writes, plus "types": ["node"]) so the published .d.ts files are proven
// to serve TypeScript callers; live calls are in live.test.js.
import { readFileSync } from "node:fs";

import { Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  type CancelByJobResponse,
  ErrorInfoSchema,
  OtaStrategyService,
  REASON_RATE_LIMITED,
  RetryInfoSchema,
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
