import { useState } from 'preact/hooks';
import { storeToken } from '../token.ts';

/** Asks for the bearer token once per tab (again when the service refuses it). */
export function TokenForm({ refused, onToken }: { refused: boolean; onToken: (token: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <main class="token-page">
      <form
        class="card token-form"
        onSubmit={(event) => {
          event.preventDefault();
          const token = value.trim();
          if (!token) return;
          storeToken(token);
          onToken(token);
        }}
      >
        <h1>Routine Runs</h1>
        {refused && (
          <p role="alert" class="error">
            That token was refused. Enter a valid one.
          </p>
        )}
        <label for="token">API token</label>
        <input id="token" type="password" autoComplete="off" value={value} onInput={(event) => setValue(event.currentTarget.value)} />
        <p class="hint">
          <code>npm start</code> prints a dev token and a console link that carries it. The token stays in this tab only.
        </p>
        <button type="submit">Open the console</button>
      </form>
    </main>
  );
}
