// The live dashboard served at GET /: one self-contained page (no external resources)
// built from dashboard/: its markup, its style sheet and its script (script.ts, sent as
// the source of its functions together with histogram.ts's and byte-units.ts's, so the
// page's deltas, percentiles and byte counts are the ones `top` and the server use).
// With a token, open it as `http://host:port/#token=SECRET`: the page keeps the token in session storage, removes
// it from the address bar and sends it as `Authorization: Bearer`; without one it asks
// for it when the API answers 401, and says so when the token it sent is refused.
// The page is static (no data in it), so it is served without the token; everything it
// fetches needs it. Its Content-Security-Policy allows only its own inline script and
// style (by hash) and requests to the same origin.
import { createHash } from 'node:crypto';

import { pageBody } from './dashboard/markup.js';
import * as pageScript from './dashboard/script.js';
import { pageStyle } from './dashboard/style.js';

/**
 * The page's script: in one function scope, `maths` built from histogram.ts's and
 * byte-units.ts's functions, `pageSettings`, then every function script.ts exports, and
 * a call of its `start`.
 */
function assembleScript(): string {
  const { maths, pageSettings } = pageScript;
  const functions = Object.values(pageScript).filter(
    (value): value is (...args: never[]) => unknown => typeof value === 'function',
  );
  return [
    "'use strict';",
    '(function () {',
    `const maths = { ${Object.entries(maths)
      .map(([name, fn]) => `${name}: ${fn.toString()}`)
      .join(',\n')} };`,
    `const pageSettings = ${JSON.stringify(pageSettings)};`,
    ...functions.map((fn) => fn.toString()),
    'start();',
    '})();',
    '',
  ].join('\n');
}

const script = assembleScript();

function sha256Base64(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64');
}

/** The page's HTML. */
export const dashboardHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>lb-native admin</title>
<link rel="icon" href="data:,">
<style>${pageStyle}</style>
</head>
<body>${pageBody}<script>${script}</script>
</body>
</html>
`;

/** Its Content-Security-Policy: the inline script and style by hash, requests to the same origin only. */
export const dashboardCsp = [
  "default-src 'none'",
  `script-src 'sha256-${sha256Base64(script)}'`,
  `style-src 'sha256-${sha256Base64(pageStyle)}'`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
