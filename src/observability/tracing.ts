// OpenTelemetry traces, configured only by the standard OTEL_* variables (src/env.ts). With no
// OTLP endpoint set (or OTEL_SDK_DISABLED=true, OTEL_TRACES_EXPORTER=none) nothing of the SDK is
// loaded: every span below is the API's no-op span, which costs a function call.
//
// One trace runs from the createRun request (src/http/yoga.ts) through the workflow start
// (src/runs/launcher.ts, Temporal's client interceptor), the workflow and its activity (Temporal's
// workflow and activity interceptors, workflows/worker.ts) to the method process, which is handed
// the context over IPC (src/execution/sandbox.ts) and exports its own span.
import { context, propagation, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Env } from '../env.ts';

/** Span attributes naming a run; every span of a run's trace that knows the run carries them. */
export const RUN_ID_ATTRIBUTE = 'routine_runs.run_id';
export const ROUTINE_ATTRIBUTE = 'routine.name';
export const METHOD_ATTRIBUTE = 'method.name';

const TRACER_NAME = 'routine-runs';

type TracingSettings = Pick<
  Env,
  | 'OTEL_EXPORTER_OTLP_ENDPOINT'
  | 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'
  | 'OTEL_EXPORTER_OTLP_PROTOCOL'
  | 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
  | 'OTEL_SERVICE_NAME'
  | 'OTEL_SDK_DISABLED'
  | 'OTEL_TRACES_EXPORTER'
>;

/** What Temporal's worker needs to export workflow spans (they are made inside the workflow sandbox). */
export interface TracingPipeline {
  spanProcessor: SpanProcessor;
  resource: Resource;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

let pipeline: TracingPipeline | null = null;
let starting: Promise<TracingPipeline | null> | null = null;

/** Whether the settings ask for traces at all. */
export function tracingRequested(env: TracingSettings): boolean {
  if (env.OTEL_SDK_DISABLED || env.OTEL_TRACES_EXPORTER === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Starts this process's tracer provider (once; later calls get the first one). Returns null, having
 * loaded nothing, when tracing is not requested. The exporters read the endpoint and headers
 * (OTEL_EXPORTER_OTLP_*) from the environment themselves.
 */
export function initTracing(env: TracingSettings, defaultServiceName: string): Promise<TracingPipeline | null> {
  if (!tracingRequested(env)) return Promise.resolve(null);
  starting ??= startPipeline(env, defaultServiceName);
  return starting;
}

async function startPipeline(env: TracingSettings, defaultServiceName: string): Promise<TracingPipeline> {
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL;
  const [{ NodeTracerProvider }, { BatchSpanProcessor }, { Resource }, { W3CTraceContextPropagator }, { OTLPTraceExporter }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/core'),
      protocol === 'http/json' ? import('@opentelemetry/exporter-trace-otlp-http') : import('@opentelemetry/exporter-trace-otlp-proto'),
    ]);
  const resource = new Resource({ 'service.name': env.OTEL_SERVICE_NAME ?? defaultServiceName });
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // Also installs the AsyncLocalStorage context manager: a span started in a request stays the
  // parent of everything awaited under it (the resolver, the launcher's deferred start).
  provider.register({ propagator: new W3CTraceContextPropagator() });
  pipeline = {
    spanProcessor,
    resource,
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
  return pipeline;
}

/** This process's pipeline, when initTracing started one. */
export function tracingPipeline(): TracingPipeline | null {
  return pipeline;
}

/** Exports the spans that ended so far (a method process, before it answers). */
export async function flushTracing(): Promise<void> {
  await pipeline?.forceFlush();
}

/**
 * Flushes and stops the tracer provider: the last step of a process's stop path, after everything
 * that may still end a span (API requests, the worker's activities) has stopped.
 */
export async function shutdownTracing(): Promise<void> {
  const stopping = pipeline;
  pipeline = null;
  starting = null;
  await stopping?.shutdown();
}

/** The W3C trace context (`traceparent`, `tracestate`) of `from`, to hand to another process; undefined when there is no span. */
export function traceCarrier(from: Context = context.active()): Record<string, string> | undefined {
  if (!trace.getSpanContext(from)) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(from, carrier);
  return Object.keys(carrier).length > 0 ? carrier : undefined;
}

/** The context a carrier (traceparent headers, an IPC message's field) continues. */
export function contextFromCarrier(carrier: Record<string, string> | undefined, base: Context = context.active()): Context {
  return carrier ? propagation.extract(base, carrier) : base;
}

/**
 * Runs `work` in a new span, child of `parent` (default: the active context), ended when `work`
 * settles; an error is recorded on it and rethrown.
 */
export async function inSpan<T>(
  name: string,
  { attributes, parent = context.active() }: { attributes?: Attributes; parent?: Context },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return trace.getTracer(TRACER_NAME).startActiveSpan(name, { attributes }, parent, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The tracer of the service's own spans (the GraphQL request span, the method span). */
export function tracer() {
  return trace.getTracer(TRACER_NAME);
}
