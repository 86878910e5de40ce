// Environment variables in configuration values: `${NAME}` and `${NAME:-default}` inside
// strings (the default is used when NAME is unset or empty), `$$` for a literal `$`.
// Substitution happens on parsed values, never on the file's text, so a variable cannot
// change the file's structure, and it happens before validation, so the schema checks the
// result.

/** Why a string could not be substituted. */
export interface SubstitutionProblem {
  message: string;
}

export type SubstitutionResult =
  { ok: true; value: string; substituted: boolean; whole: boolean } | { ok: false; problem: SubstitutionProblem };

const reference = /\$(\$|\{([^}]*)\})/g;
const namePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces every `${NAME}` / `${NAME:-default}` in `text` with the variable's value.
 * `whole` is true when `text` was one reference and nothing else (so its result may take
 * another type, see `coerceScalar`). A variable that is not set and has no default is a
 * problem naming it; so is a malformed reference.
 */
export function substitute(text: string, env: NodeJS.ProcessEnv): SubstitutionResult {
  if (!text.includes('$')) return { ok: true, value: text, substituted: false, whole: false };
  let problem: SubstitutionProblem | undefined;
  let substituted = false;
  let references = 0;
  const value = text.replace(reference, (match, inner: string, body: string | undefined) => {
    if (inner === '$') return '$';
    references += 1;
    const body_ = body ?? '';
    const split = body_.indexOf(':-');
    const name = split === -1 ? body_ : body_.slice(0, split);
    if (!namePattern.test(name)) {
      problem ??= {
        message: `'${match}' is not a variable reference; expected \${NAME} or \${NAME:-default} (write $$ for a literal $)`,
      };
      return match;
    }
    substituted = true;
    const set = env[name];
    if (split !== -1) return set === undefined || set === '' ? body_.slice(split + 2) : set;
    if (set === undefined) {
      problem ??= { message: `environment variable ${name} is not set (write \${${name}:-default} to give a default)` };
      return match;
    }
    return set;
  });
  if (problem) return { ok: false, problem };
  if (/\$\{/.test(text.replace(reference, ''))) {
    return { ok: false, problem: { message: "unclosed '${'; expected ${NAME} or ${NAME:-default}" } };
  }
  const whole = references === 1 && /^\$\{[^}]*\}$/.test(text);
  return { ok: true, value, substituted, whole };
}

/**
 * The value an unquoted YAML scalar takes after substitution: a decimal number or
 * true/false becomes one (so `workers: ${LB_WORKERS:-2}` is the number 2); anything else
 * stays a string.
 */
export function coerceScalar(text: string): string | number | boolean {
  if (/^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/.test(text)) return Number(text);
  if (text === 'true') return true;
  if (text === 'false') return false;
  return text;
}
