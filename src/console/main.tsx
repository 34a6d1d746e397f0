// The web console: a token gate, a navigation bar and one page per route.
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { onUnauthenticated } from './api.ts';
import { TokenForm } from './components/TokenForm.tsx';
import { ComparePage } from './pages/Compare.tsx';
import { QueuePage } from './pages/Queue.tsx';
import { RoutinesPage } from './pages/Routines.tsx';
import { RunDetailPage } from './pages/RunDetail.tsx';
import { RunsPage } from './pages/Runs.tsx';
import { href, pageKey, useRoute, type Route } from './router.ts';
import { adoptTokenFromUrl, storedToken } from './token.ts';
import './styles.css';

adoptTokenFromUrl();

function App() {
  const [token, setToken] = useState(storedToken);
  const [refused, setRefused] = useState(false);
  const route = useRoute();
  useFocusOnPageChange(pageKey(route));
  useEffect(
    () =>
      onUnauthenticated(() => {
        setRefused(true);
        setToken(null);
      }),
    [],
  );
  if (!token) return <TokenForm refused={refused} onToken={setToken} />;
  return (
    <>
      <header class="top">
        <span class="brand">Routine Runs</span>
        <nav aria-label="Pages">
          <NavLink to={href.runs} current={route.page === 'runs' || route.page === 'run'} label="Runs" />
          <NavLink to={href.routines} current={route.page === 'routines'} label="Routines" />
          <NavLink to={href.compare([])} current={route.page === 'compare'} label="Compare" />
          <NavLink to={href.queue} current={route.page === 'queue'} label="Queue" />
        </nav>
      </header>
      <main>
        <Page route={route} />
      </main>
    </>
  );
}

function NavLink({ to, current, label }: { to: string; current: boolean; label: string }) {
  return (
    <a href={to} aria-current={current ? 'page' : undefined}>
      {label}
    </a>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'run':
      return <RunDetailPage key={route.id} id={route.id} />;
    case 'routines':
      return <RoutinesPage />;
    case 'compare':
      return <ComparePage ids={route.ids} />;
    case 'queue':
      return <QueuePage />;
    default:
      return <RunsPage query={route.query} />;
  }
}

// After a page change keyboard and screen-reader users land on the new page's heading rather
// than on the link they left. Not on first load (the browser's own start point is fine) and not
// when only the runs filter changes (focus stays on the filter control just used).
function useFocusOnPageChange(key: string) {
  const previous = useRef(key);
  useEffect(() => {
    if (previous.current === key) return;
    previous.current = key;
    // A page may show "Loading…" first; wait briefly for its heading to appear.
    let attempts = 0;
    const timer = setInterval(() => {
      const heading = document.querySelector<HTMLElement>('main h1');
      if (heading || ++attempts > 50) clearInterval(timer);
      if (!heading) return;
      heading.tabIndex = -1;
      heading.focus();
    }, 50);
    return () => clearInterval(timer);
  }, [key]);
}

render(<App />, document.getElementById('app')!);
