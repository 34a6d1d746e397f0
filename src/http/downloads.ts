// GET /artifacts/{id}/data — streams an artifact's data file to a caller holding a bearer token
// or a signed link (Artifact.downloadUrl).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticate, bearerToken } from '../auth/tokens.ts';
import type { Db } from '../db/client.ts';
import { ArtifactStore } from '../storage/artifact-store.ts';
import type { ArtifactLinks } from './artifact-links.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function serveArtifactDownload({
  req,
  res,
  url,
  db,
  links,
  storageRoot,
}: {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  db: Db;
  links: ArtifactLinks;
  storageRoot: string;
}): Promise<void> {
  const match = url.pathname.match(/^\/artifacts\/([^/]+)\/data$/);
  if (!match || !UUID.test(match[1]) || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
    return;
  }
  const artifactId = match[1];
  const signed = links.verify({
    artifactId,
    expires: url.searchParams.get('expires'),
    signature: url.searchParams.get('signature'),
  });
  if (!signed && !(await authenticate({ db, token: bearerToken(req.headers.authorization) }))) {
    res.writeHead(401, { 'content-type': 'text/plain' }).end('A bearer token or a valid signed link is required');
    return;
  }
  const artifact = await db.artifact.findUnique({ where: { id: artifactId }, select: { path: true, name: true, contentType: true } });
  if (!artifact) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('No artifact has this id');
    return;
  }
  const file = await new ArtifactStore({ rootDir: storageRoot }).dataFilePath(artifact.path);
  const info = await stat(file);
  const extension = file.slice(file.lastIndexOf('.'));
  res.writeHead(200, {
    'content-type': artifact.contentType,
    'content-length': info.size,
    'content-disposition': `attachment; filename="${artifact.name}${extension}"`,
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(file).pipe(res);
}
