// Connections to Temporal for the API (client) and the worker (native connection), from Env.
import { readFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { Env } from '../env.ts';
import { tracingPipeline } from '../observability/tracing.ts';

export interface TemporalTarget {
  address: string;
  namespace: string;
  tls?: boolean;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  apiKey?: string;
}

export function temporalTarget(env: Env, address: string): TemporalTarget {
  return {
    address,
    namespace: env.TEMPORAL_NAMESPACE,
    tls: env.TEMPORAL_TLS,
    tlsCertPath: env.TEMPORAL_TLS_CERT_PATH,
    tlsKeyPath: env.TEMPORAL_TLS_KEY_PATH,
    apiKey: env.TEMPORAL_API_KEY,
  };
}

async function tlsOptions(target: TemporalTarget) {
  if (target.tlsCertPath && target.tlsKeyPath) {
    return { clientCertPair: { crt: await readFile(target.tlsCertPath), key: await readFile(target.tlsKeyPath) } };
  }
  // An API key implies TLS on Temporal Cloud.
  return target.tls || target.apiKey ? true : undefined;
}

export async function connectTemporalClient(target: TemporalTarget): Promise<Client> {
  const connection = await Connection.connect({
    address: target.address,
    tls: await tlsOptions(target),
    apiKey: target.apiKey,
  });
  return new Client({ connection, namespace: target.namespace, interceptors: await clientInterceptors() });
}

/**
 * With tracing on, each workflow start (and signal, cancel…) is a span whose context travels to the
 * workflow in its headers. Loaded only then: without tracing the client carries no interceptor.
 */
async function clientInterceptors() {
  if (!tracingPipeline()) return undefined;
  const { OpenTelemetryWorkflowClientInterceptor } = await import('@temporalio/interceptors-opentelemetry/lib/client/index.js');
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor()] };
}

export async function connectTemporalWorker(target: TemporalTarget): Promise<NativeConnection> {
  // Loaded here, not at the top: an API process never runs a worker and need not carry it.
  const { NativeConnection } = await import('@temporalio/worker');
  return NativeConnection.connect({
    address: target.address,
    tls: await tlsOptions(target),
    apiKey: target.apiKey,
  });
}
