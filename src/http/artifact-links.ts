// Signed, expiring links to stored data (artifacts and uploaded data sets): a download needs
// either a bearer token or a link signed with the service's secret, so links can be handed to
// browsers and tools. Like an S3 presigned URL, a link acts with the credentials that signed it:
// it names (and signs) the token that asked for it, and a download through it is checked as that
// token's own would be (src/http/downloads.ts): revoked, expired, or no longer able to see the
// file, and the link is dead too. A link made without a token (inside the service) is a bare
// capability until it expires.
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

  downloadUrl({
    kind,
    id,
    expiresInSeconds,
    tokenId = null,
  }: {
    kind: DownloadKind;
    id: string;
    expiresInSeconds: number;
    /** The token of the request that asks for the link: the link acts with it. */
    tokenId?: string | null;
  }): string {
    const expires = Math.floor(Date.now() / 1000) + expiresInSeconds;
    const signature = this.sign(kind, id, expires, tokenId);
    const token = tokenId ? `&token=${tokenId}` : '';
    return `${this.options.baseUrl}/${DOWNLOAD_ROUTES[kind]}/${id}/data?expires=${expires}${token}&signature=${signature}`;
  }

  /** Whether the link is genuine and unexpired, and the token it acts with (null: a bare capability). */
  verify({
    kind,
    id,
    expires,
    signature,
    tokenId,
  }: {
    kind: DownloadKind;
    id: string;
    expires: string | null;
    signature: string | null;
    tokenId: string | null;
  }): { valid: false } | { valid: true; tokenId: string | null } {
    if (!expires || !signature || !/^\d+$/.test(expires)) return { valid: false };
    if (Number(expires) < Date.now() / 1000) return { valid: false };
    const expected = Buffer.from(this.sign(kind, id, Number(expires), tokenId || null));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { valid: false };
    return { valid: true, tokenId: tokenId || null };
  }

  private sign(kind: DownloadKind, id: string, expires: number, tokenId: string | null): string {
    // The kind and the token are signed, so a link to one kind never opens the other and no one can
    // drop or swap the token a link acts with. A link without a token keeps the message links had
    // before they named one: those handed out before stay valid until they expire.
    const message = tokenId ? `${kind}:${id}:${expires}:${tokenId}` : kind === 'artifact' ? `${id}:${expires}` : `${kind}:${id}:${expires}`;
    return createHmac('sha256', this.options.secret).update(message).digest('base64url');
  }
}
