// The README's TypeScript usage of @ota-gateway/client, type-checked by stubs/test.sh (`tsc -p .`)
// so the published .d.ts files are proven to serve TypeScript callers; live calls are in live.test.js.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  type CancelByJobResponse,
  ErrorInfoSchema,
  OtaStrategyService,
  RetryInfoSchema,
} from "@ota-gateway/client";

export async function cancel(target: string, jobId: string): Promise<string> {
  const client = createClient(OtaStrategyService, createGrpcTransport({ baseUrl: `http://${target}` }));
  try {
    const reply: CancelByJobResponse = await client.cancelByJob({ jobId }, { timeoutMs: 10_000 });
    return reply.requestId;
  } catch (err) {
    const e = ConnectError.from(err);
    const [info] = e.findDetails(ErrorInfoSchema);
    const [retry] = e.findDetails(RetryInfoSchema);
    const alibabaCode: string | undefined = info?.metadata["alibaba_code"];
    const retrySeconds: bigint | undefined = retry?.retryDelay?.seconds;
    if (e.code === Code.ResourceExhausted) {
      return `retry after ${retrySeconds ?? 0n}s (${info?.reason})`;
    }
    throw new Error(`${Code[e.code]} ${alibabaCode ?? ""}`);
  }
}
