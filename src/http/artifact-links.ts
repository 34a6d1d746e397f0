// Signed, expiring links to artifact data: a download needs either a bearer token or a link
// signed with the service's secret, so links can be handed to browsers and tools.
import { createHmac, timingSafeEqual } from 'node:crypto';

export class ArtifactLinks {
  constructor(private readonly options: { baseUrl: string; secret: string }) {}

  /** For servers whose port is known only once they listen. */
  setBaseUrl(baseUrl: string): void {
    this.options.baseUrl = baseUrl;
  }

  downloadUrl({ artifactId, expiresInSeconds }: { artifactId: string; expiresInSeconds: number }): string {
    const expires = Math.floor(Date.now() / 1000) + expiresInSeconds;
    const signature = this.sign(artifactId, expires);
    return `${this.options.baseUrl}/artifacts/${artifactId}/data?expires=${expires}&signature=${signature}`;
  }

  verify({ artifactId, expires, signature }: { artifactId: string; expires: string | null; signature: string | null }): boolean {
    if (!expires || !signature || !/^\d+$/.test(expires)) return false;
    if (Number(expires) < Date.now() / 1000) return false;
    const expected = Buffer.from(this.sign(artifactId, Number(expires)));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  private sign(artifactId: string, expires: number): string {
    return createHmac('sha256', this.options.secret).update(`${artifactId}:${expires}`).digest('base64url');
  }
}
