// A hash router: `#/runs`, `#/runs/<id>`, `#/routines`, `#/compare/<id>,<id>`, `#/queue`.
import { useEffect, useState } from 'preact/hooks';

export type Route =
  { page: 'runs' } | { page: 'run'; id: string } | { page: 'routines' } | { page: 'compare'; ids: string[] } | { page: 'queue' };

export function parseRoute(hash: string): Route {
  const [page, argument] = hash.replace(/^#\/?/, '').split('/');
  if (page === 'runs' && argument) return { page: 'run', id: decodeURIComponent(argument) };
  if (page === 'routines') return { page: 'routines' };
  if (page === 'queue') return { page: 'queue' };
  if (page === 'compare') return { page: 'compare', ids: (argument ?? '').split(',').filter(Boolean).map(decodeURIComponent) };
  return { page: 'runs' };
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
  run: (id: string) => `#/runs/${encodeURIComponent(id)}`,
  routines: '#/routines',
  compare: (ids: string[]) => `#/compare/${ids.map(encodeURIComponent).join(',')}`,
  queue: '#/queue',
};

export function navigate(to: string): void {
  location.hash = to;
}
