// Tracing is on only when the OTEL_* variables ask for it (src/observability/tracing.ts).
import { describe, expect, it } from 'vitest';
import { loadEnv } from '../../src/env.ts';
import { tracingRequested } from '../../src/observability/tracing.ts';

describe('tracingRequested', () => {
  it('needs an OTLP endpoint, and is turned off by OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none', () => {
    expect(tracingRequested(loadEnv({}))).toBe(false);
    expect(tracingRequested(loadEnv({ OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }))).toBe(false);
    expect(tracingRequested(loadEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }))).toBe(true);
    expect(tracingRequested(loadEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }))).toBe(true);
    expect(tracingRequested(loadEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }))).toBe(false);
    expect(tracingRequested(loadEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }))).toBe(false);
  });
});
