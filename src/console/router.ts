// A hash router: `#/runs?<filter>`, `#/runs/<id>`, `#/routines`, `#/compare/<id>,<id>`, `#/queue`.
// The runs filter lives in the hash query so a filtered view survives a reload and can be bookmarked.
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'runs'; query: string }
  | { page: 'run'; id: string }
  | { page: 'routines' }
  | { page: 'compare'; ids: string[] }
  | { page: 'queue' };

export function parseRoute(hash: string): Route {
  const [path, query = ''] = hash.replace(/^#\/?/, '').split('?', 2);
  const [page, argument] = path.split('/');
  if (page === 'runs' && argument) return { page: 'run', id: decodeURIComponent(argument) };
  if (page === 'routines') return { page: 'routines' };
  if (page === 'queue') return { page: 'queue' };
  if (page === 'compare') return { page: 'compare', ids: (argument ?? '').split(',').filter(Boolean).map(decodeURIComponent) };
  return { page: 'runs', query };
}

/** Identifies the page itself: equal for two routes that differ only in the runs filter. */
export function pageKey(route: Route): string {
  if (route.page === 'run') return `run/${route.id}`;
  if (route.page === 'compare') return `compare/${route.ids.join(',')}`;
  return route.page;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

export const href = {
  runs: '#/runs',
  filteredRuns: (query: string) => (query ? `#/runs?${query}` : '#/runs'),
  run: (id: string) => `#/runs/${encodeURIComponent(id)}`,
  routines: '#/routines',
  compare: (ids: string[]) => `#/compare/${ids.map(encodeURIComponent).join(',')}`,
  queue: '#/queue',
};

export function navigate(to: string): void {
  location.hash = to;
}
