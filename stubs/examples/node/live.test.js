// Live calls to a running ota-gateway through the @ota-gateway/client npm package, installed from an
// npm registry, with Connect's gRPC transport (HTTP/2, the standard gRPC protocol); ErrorInfo is
// compared with the package's generated DOMAIN_* / REASON_* constants.
//
// Started by stubs/tests/test_live_stubs.py, which runs the gateway and the iot-emulator and sets
// OTA_TARGET, OTA_LIMITED_TARGET (a gateway with --qps=1 --burst=1), OTA_DYNAMIC_JOB and
// OTA_LIMITED_JOB (dynamic batches the emulator knows), and OTA_FIRMWARE_ID, a firmware the emulator
// lists OTA_FIRMWARE_JOB_COUNT batches of: OTA_FIRMWARE_STATIC_JOB (static),
// OTA_FIRMWARE_FINISHED_JOB (completed) and dynamic ones, planned or in progress.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  ALL_REASONS,
  BadRequestSchema,
  CancelOutcome,
  DOMAIN_ALIBABA_IOT,
  DOMAIN_GATEWAY,
  ErrorInfoSchema,
  JobStatus,
  JobType,
  OtaStrategyService,
  REASON_INVALID_FIRMWARE_ID,
  REASON_INVALID_JOB_ID,
  REASON_JOB_NOT_FOUND,
  REASON_RATE_LIMITED,
  REASON_CALLER_NOT_ALLOWED,
  REASON_CALLER_UNAUTHENTICATED,
  RetryInfoSchema,
  SelectionType,
} from "@ota-gateway/client";

// The README's TLS + mTLS + token code and paging loop, compiled from readme_usage.ts by stubs/test.sh (tsc).
import { cancellable, createdAt, listAllJobs, plaintext, secure } from "./readme_usage.js";

function env(name) {
  const value = process.env[name];
  assert.ok(value, `${name} is not set: run this through stubs/test.sh`);
  return value;
}

function client(target) {
  return createClient(OtaStrategyService, createGrpcTransport({ baseUrl: `http://${target}` }));
}

async function callError(target, jobId, timeoutMs) {
  try {
    await client(target).cancelByJob({ jobId }, { timeoutMs });
  } catch (err) {
    assert.ok(err instanceof ConnectError, `not a ConnectError: ${err}`);
    return err;
  }
  assert.fail(`CancelByJob(${jobId}) succeeded, want an error`);
}

function only(err, schema) {
  const found = err.findDetails(schema);
  assert.equal(found.length, 1, `want one ${schema.typeName} in ${JSON.stringify(err.details)}`);
  return found[0];
}

test("success returns a request_id and the outcome", async () => {
  const response = await client(env("OTA_TARGET")).cancelByJob(
    { jobId: env("OTA_DYNAMIC_JOB") }, { timeoutMs: 10_000 });
  assert.ok(response.requestId.length > 0);
  assert.equal(response.outcome, CancelOutcome.CANCELLED);
  // Cancelling again is idempotent: OK, already cancelled, with the original RequestId.
  const again = await client(env("OTA_TARGET")).cancelByJob(
    { jobId: env("OTA_DYNAMIC_JOB") }, { timeoutMs: 10_000 });
  assert.equal(again.outcome, CancelOutcome.ALREADY_CANCELLED);
  assert.equal(again.requestId, response.requestId);
});

test("unknown job is NOT_FOUND with the Alibaba code", async () => {
  const err = await callError(env("OTA_TARGET"), "NO-SUCH-JOB-NODE", 10_000);
  assert.equal(err.code, Code.NotFound);
  const info = only(err, ErrorInfoSchema);
  assert.equal(info.reason, REASON_JOB_NOT_FOUND);
  assert.equal(info.domain, DOMAIN_ALIBABA_IOT);
  assert.equal(info.metadata.alibaba_code, "iot.ota.OtaJobNotExist");
  assert.ok(info.metadata.alibaba_request_id);
});

test("malformed job_id is INVALID_ARGUMENT naming the field", async () => {
  const err = await callError(env("OTA_TARGET"), "bad id!", 10_000);
  assert.equal(err.code, Code.InvalidArgument);
  const info = only(err, ErrorInfoSchema);
  assert.equal(info.domain, DOMAIN_GATEWAY);
  assert.equal(info.reason, REASON_INVALID_JOB_ID);
  assert.ok(ALL_REASONS.includes(info.reason));
  const violations = only(err, BadRequestSchema).fieldViolations.map((v) => v.field);
  assert.deepEqual(violations, ["job_id"]);
});

test("exhausted quota is RESOURCE_EXHAUSTED with RetryInfo", async () => {
  const target = env("OTA_LIMITED_TARGET");
  const first = await client(target).cancelByJob({ jobId: env("OTA_LIMITED_JOB") }, { timeoutMs: 10_000 });
  assert.ok(first.requestId.length > 0);
  const err = await callError(target, "ANY-JOB-NODE", 300);
  assert.equal(err.code, Code.ResourceExhausted);
  assert.equal(only(err, ErrorInfoSchema).reason, REASON_RATE_LIMITED);
  const delay = only(err, RetryInfoSchema).retryDelay;
  assert.ok(delay, "RetryInfo without retry_delay");
  assert.ok(delay.seconds > 0n || delay.nanos > 0, `retry_delay ${delay.seconds}s ${delay.nanos}ns`);
});

test("TLS, mTLS and the bearer token as the README shows", async () => {
  // The test put ca.pem, client.pem and client-key.pem here; the gateway knows callers by token.
  const target = env("OTA_SECURE_TARGET");
  const request = { jobId: env("OTA_SECURE_JOB") };
  const ok = await createClient(OtaStrategyService, secure(target, env("OTA_TOKEN")))
    .cancelByJob(request, { timeoutMs: 10_000 });
  assert.ok(ok.requestId.length > 0);
  for (const [token, code, reason] of [
    [env("OTA_LIMITED_TOKEN"), Code.PermissionDenied, REASON_CALLER_NOT_ALLOWED],
    [env("OTA_WRONG_TOKEN"), Code.Unauthenticated, REASON_CALLER_UNAUTHENTICATED],
  ]) {
    const err = await createClient(OtaStrategyService, secure(target, token))
      .cancelByJob(request, { timeoutMs: 10_000 })
      .then(() => assert.fail("the call succeeded"), (e) => ConnectError.from(e));
    assert.equal(err.code, code);
    const info = only(err, ErrorInfoSchema);
    assert.deepEqual([info.reason, info.domain], [reason, DOMAIN_GATEWAY]);
  }
});

test("ListJobsByFirmware pages through every batch of the firmware", async () => {
  const firmwareId = env("OTA_FIRMWARE_ID");
  const count = Number(env("OTA_FIRMWARE_JOB_COUNT"));
  const list = client(env("OTA_TARGET"));
  const jobs = new Map();
  let pageToken = "";
  for (let read = 0; ;) {
    const page = await list.listJobsByFirmware({ firmwareId, pageSize: 10, pageToken }, { timeoutMs: 10_000 });
    assert.equal(page.jobs.length, Math.min(10, count - read), `page after ${read}`);
    assert.equal(page.totalSize, count);
    for (const job of page.jobs) jobs.set(job.jobId, job);
    read += page.jobs.length;
    assert.equal(page.nextPageToken === "", read === count, `next_page_token after ${read}`);
    if (read === count) break;
    pageToken = page.nextPageToken;
  }
  assert.equal(jobs.size, count, "distinct batches");

  const [staticJob, finishedJob] = [env("OTA_FIRMWARE_STATIC_JOB"), env("OTA_FIRMWARE_FINISHED_JOB")];
  assert.equal(jobs.get(staticJob).selectionType, SelectionType.STATIC);
  assert.equal(jobs.get(finishedJob).jobStatus, JobStatus.COMPLETED);
  const dynamic = [...jobs.keys()].filter((id) => id !== staticJob && id !== finishedJob).sort();
  const now = Date.now();
  for (const job of jobs.values()) {
    assert.equal(job.firmwareId, firmwareId);
    assert.notEqual(job.jobType, JobType.UNSPECIFIED, job.jobId);
    // google.protobuf.Timestamp through protobuf-es' wkt helpers (the README's createdAt).
    const created = createdAt(job);
    assert.ok(created && created.getTime() <= now && created.getTime() > now - 3650 * 86_400_000,
      `${job.jobId} created ${created}`);
    if (job.updateTime) assert.ok(job.updateTime.seconds >= job.createTime.seconds, job.jobId);
  }

  const all = await listAllJobs(plaintext(env("OTA_TARGET")), firmwareId);
  assert.equal(all.length, count);
  assert.deepEqual(cancellable(all).map((job) => job.jobId).sort(), dynamic);
});

test("ListJobsByFirmware without a firmware is INVALID_ARGUMENT naming the field", async () => {
  const err = await client(env("OTA_TARGET")).listJobsByFirmware({}, { timeoutMs: 10_000 })
    .then(() => assert.fail("the call succeeded"), (e) => ConnectError.from(e));
  assert.equal(err.code, Code.InvalidArgument);
  const info = only(err, ErrorInfoSchema);
  assert.deepEqual([info.reason, info.domain], [REASON_INVALID_FIRMWARE_ID, DOMAIN_GATEWAY]);
  assert.deepEqual(only(err, BadRequestSchema).fieldViolations.map((v) => v.field), ["firmware_id"]);
});
