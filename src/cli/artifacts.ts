// `routines artifacts download <run-id> <name> [-o file]`: asks the API for the artifact's signed
// link (Artifact.downloadUrl), streams it to a temporary file next to the target while hashing,
// and renames it into place only when the SHA-256 matches the artifact's checksum.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { UsageError, type GraphQLClient } from './client.ts';
import { ARTIFACT_LINKS, type ArtifactLinksData } from './documents.ts';
import { formatBytes, printJson, type OutputMode } from './output.ts';

export async function downloadArtifact(
  client: GraphQLClient,
  runId: string,
  name: string,
  options: { output?: string },
  mode: OutputMode,
): Promise<number> {
  const { run } = await client.request<ArtifactLinksData>(ARTIFACT_LINKS, { id: runId });
  if (!run) throw new UsageError(`Run not found: ${runId}`);
  const artifact = run.artifacts.find((candidate) => candidate.name === name);
  if (!artifact) {
    const known = run.artifacts.map((candidate) => candidate.name).join(', ') || 'none';
    throw new UsageError(`Run ${runId} has no artifact named ${name} (it has: ${known})`);
  }
  const file = path.resolve(options.output ?? name);
  const partial = `${file}.${process.pid}.part`;
  const body = await client.download(artifact.downloadUrl);
  const hash = createHash('sha256');
  let bytes = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(body as WebReadableStream<Uint8Array>), hashing, createWriteStream(partial));
    const checksum = hash.digest('hex');
    if (checksum !== artifact.checksum) {
      throw new UsageError(`Downloaded ${name} does not match its checksum (got ${checksum}, expected ${artifact.checksum})`);
    }
    await rename(partial, file);
  } catch (error) {
    await rm(partial, { force: true });
    if (error instanceof UsageError) throw error;
    throw new UsageError(`Download of ${name} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (mode.json) printJson({ file, name, bytes, checksum: artifact.checksum });
  else process.stdout.write(`${file} (${formatBytes(bytes)}, sha256 ${artifact.checksum})\n`);
  return 0;
}
