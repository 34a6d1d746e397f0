// GET /artifacts/{id}/data and /datasets/{id}/data — streams a stored file (a run's artifact or
// an uploaded data set) to a caller holding a bearer token or a signed link (downloadUrl), with
// single byte ranges (206/416), an ETag from the checksum and conditional requests.
//
// A bearer download is scoped by the visibility rule: a file of a workspace the token cannot see
// answers 404, exactly like one that does not exist (never 403, which would confirm it). A signed
// link is a capability of its own, like an S3 presigned URL: whoever holds it may download until
// it expires (at most a day), whatever later happens to the token that asked for it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { bearerToken, checkToken, currentAccessOfTokens, TokenRefusal } from '../auth/tokens.ts';
import type { Db } from '../db/client.ts';
import { ArtifactStore } from '../storage/artifact-store.ts';
import { DOWNLOAD_ROUTES, type ArtifactLinks, type DownloadKind } from './artifact-links.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KIND_OF_ROUTE = new Map(Object.entries(DOWNLOAD_ROUTES).map(([kind, route]) => [route, kind as DownloadKind]));
const DOWNLOAD_PATH = new RegExp(`^/(${Object.values(DOWNLOAD_ROUTES).join('|')})/([^/]+)/data$`);

/** Whether a request path belongs to this module (the API routes it here before GraphQL). */
export function isDownloadPath(pathname: string): boolean {
  return Object.values(DOWNLOAD_ROUTES).some((route) => pathname.startsWith(`/${route}/`));
}

interface Downloadable {
  /** The workspace of the artifact's run, or of the data set's instance. */
  workspaceId: string;
  path: string;
  /** The file name offered to the client, without the extension. */
  name: string;
  contentType: string;
  checksum: string;
}

/** Both kinds answer the same questions: where the file is, what to call it, its type and checksum. */
async function findDownloadable({ db, kind, id }: { db: Db; kind: DownloadKind; id: string }): Promise<Downloadable | null> {
  const select = { path: true, name: true, contentType: true, checksum: true } as const;
  if (kind === 'artifact') {
    const artifact = await db.artifact.findUnique({ where: { id }, select: { ...select, run: { select: { workspaceId: true } } } });
    return artifact && { ...artifact, workspaceId: artifact.run.workspaceId };
  }
  const dataset = await db.dataset.findUnique({ where: { id }, select: { ...select, instance: { select: { workspaceId: true } } } });
  return dataset && { ...dataset, workspaceId: dataset.instance.workspaceId };
}

export async function serveDownload({
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
  const match = DOWNLOAD_PATH.exec(url.pathname);
  if (!match || !UUID.test(match[2]) || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
    return;
  }
  const kind = KIND_OF_ROUTE.get(match[1])!;
  const id = match[2];
  const link = links.verify({
    kind,
    id,
    expires: url.searchParams.get('expires'),
    signature: url.searchParams.get('signature'),
    tokenId: url.searchParams.get('token'),
  });
  // A link acts with the token that asked for it, as that token's own download would (fresh: a
  // link outlives any cache); a bearer download with its own token.
  const checked = link.valid
    ? link.tokenId
      ? (await currentAccessOfTokens(db, [link.tokenId])).get(link.tokenId)!
      : null
    : await checkToken({ db, token: bearerToken(req.headers.authorization) });
  if (checked instanceof TokenRefusal) {
    refuse(res, checked, link.valid);
    return;
  }
  const access = checked;
  const stored = await findDownloadable({ db, kind, id });
  if (!stored || (access && !access.canSee(stored))) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`No ${kind === 'artifact' ? 'artifact' : 'data set'} has this id`);
    return;
  }
  const data = await new ArtifactStore({ rootDir: storageRoot }).openData(stored.path);
  if (!data) {
    res.writeHead(410, { 'content-type': 'text/plain' }).end('The data file is no longer stored');
    return;
  }
  // The checksum is the content's identity, so it makes a strong validator for caches and
  // resumed downloads (If-None-Match, If-Range).
  const etag = `"sha256-${stored.checksum}"`;
  const common = {
    'accept-ranges': 'bytes',
    etag,
    'last-modified': data.modifiedAt.toUTCString(),
    'cache-control': 'private, max-age=0, must-revalidate',
    'content-disposition': `attachment; filename="${stored.name}.${data.extension}"`,
  };
  if (matchesEtag(req.headers['if-none-match'], etag)) {
    res.writeHead(304, common).end();
    return;
  }
  const rangeHeader = req.headers.range;
  // If-Range: a client resuming a download of an older version gets the whole new file.
  const ifRange = req.headers['if-range'];
  const range = rangeHeader && (!ifRange || ifRange === etag) ? parseRange({ header: rangeHeader, size: data.size }) : null;
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...common, 'content-range': `bytes */${data.size}`, 'content-type': 'text/plain' });
    res.end(`Range ${rangeHeader} is outside the file's ${data.size} bytes`);
    return;
  }
  if (range) {
    res.writeHead(206, {
      ...common,
      'content-type': stored.contentType,
      'content-length': range.end - range.start + 1,
      'content-range': `bytes ${range.start}-${range.end}/${data.size}`,
    });
  } else {
    res.writeHead(200, { ...common, 'content-type': stored.contentType, 'content-length': data.size });
  }
  if (req.method === 'HEAD' || data.size === 0) {
    res.end();
    return;
  }
  // pipeline destroys the file stream when the client goes away, and respects backpressure, so
  // memory stays at a few chunks whatever the file's size.
  await pipeline(data.stream(range ?? {}), res).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw error;
  });
}

/**
 * A 401 in the same JSON, words and `reason` as /graphql's: a client reads one shape whichever path
 * refused its token. Without a token, the link's own problem (expired, altered) is not told apart
 * from no link at all: either way a fresh link or a token opens the file.
 */
function refuse(res: ServerResponse, refusal: TokenRefusal, throughLink = false): void {
  const message = throughLink
    ? `This link no longer opens its file: ${refusal.message.replace(/^The token/, 'the token that made it')}`
    : refusal.reason === 'MISSING'
      ? 'A bearer token or a valid signed link is required'
      : refusal.message;
  res
    .writeHead(401, { 'content-type': 'application/json; charset=utf-8', 'www-authenticate': 'Bearer' })
    .end(JSON.stringify({ errors: [{ message, extensions: { code: 'UNAUTHENTICATED', reason: refusal.reason } }] }));
}

/**
 * One byte range (`bytes=a-b`, `bytes=a-`, `bytes=-n`), clamped to the file. A malformed header
 * or several ranges are ignored (the whole file is sent, as RFC 9110 allows); a well-formed range
 * that starts beyond the end is unsatisfiable.
 */
export function parseRange({ header, size }: { header: string; size: number }): { start: number; end: number } | 'unsatisfiable' | null {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  if (match[2] !== '' && Number(match[2]) < start) return null;
  if (start >= size) return 'unsatisfiable';
  const end = match[2] === '' ? size - 1 : Number(match[2]);
  return { start, end: Math.min(end, size - 1) };
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.trim() === '*' || header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}
