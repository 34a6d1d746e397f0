// Signed, expiring links to stored data (artifacts and uploaded data sets): a download needs
// either a bearer token or a link signed with the service's secret, so links can be handed to
// browsers and tools. A link is a capability, like an S3 presigned URL: it opens its file until it
// expires, whoever holds it, even after the token that asked for it is revoked (expiresInSeconds is
// at most 7 days); only a bearer download is checked against what its token may see.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type DownloadKind = 'artifact' | 'dataset';

/** Where each kind is served: GET /{route}/{id}/data (src/http/downloads.ts). */
export const DOWNLOAD_ROUTES: Record<DownloadKind, string> = { artifact: 'artifacts', dataset: 'datasets' };

export class ArtifactLinks {
  constructor(private readonly options: { baseUrl: string; secret: string }) {}

  /** For servers whose port is known only once they listen. */
  setBaseUrl(baseUrl: string): void {
    this.options.baseUrl = baseUrl;
  }

  downloadUrl({ kind, id, expiresInSeconds }: { kind: DownloadKind; id: string; expiresInSeconds: number }): string {
    const expires = Math.floor(Date.now() / 1000) + expiresInSeconds;
    const signature = this.sign(kind, id, expires);
    return `${this.options.baseUrl}/${DOWNLOAD_ROUTES[kind]}/${id}/data?expires=${expires}&signature=${signature}`;
  }

  verify({ kind, id, expires, signature }: { kind: DownloadKind; id: string; expires: string | null; signature: string | null }): boolean {
    if (!expires || !signature || !/^\d+$/.test(expires)) return false;
    if (Number(expires) < Date.now() / 1000) return false;
    const expected = Buffer.from(this.sign(kind, id, Number(expires)));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  private sign(kind: DownloadKind, id: string, expires: number): string {
    // The kind is signed, so a link to one kind never opens the other. Artifact links keep the
    // message they had before data sets could be downloaded: links already handed out stay valid.
    const message = kind === 'artifact' ? `${id}:${expires}` : `${kind}:${id}:${expires}`;
    return createHmac('sha256', this.options.secret).update(message).digest('base64url');
  }
}
