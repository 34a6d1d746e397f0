// The bearer token of this tab: handed in the URL fragment (`/#token=rr_…`, printed by `npm start`)
// or typed into the form, kept in sessionStorage so it dies with the tab.
const KEY = 'routine-runs-token';

/** Takes a `#token=…` fragment into sessionStorage and out of the address bar (and history). */
export function adoptTokenFromUrl(): void {
  const match = location.hash.match(/^#token=([^&]+)/);
  if (!match) return;
  sessionStorage.setItem(KEY, decodeURIComponent(match[1]));
  history.replaceState(null, '', `${location.pathname}${location.search}#/runs`);
}

export function storedToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}
