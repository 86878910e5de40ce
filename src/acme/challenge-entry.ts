// What a shared HTTP-01 challenge in etcd must look like before it reaches the balancer:
// the native table refuses the whole table for one bad entry, so anything read from etcd
// (which any writer of the prefix can fill) is checked entry by entry first. Same limits
// as native/http1/acme_challenge.cpp: a token of 1 to 256 base64url characters, a key
// authorization of at most 512 characters, and RFC 8555 8.1's shape `<token>.<thumbprint>`.
const maxTokenLength = 256;
const maxKeyAuthorizationLength = 512;
const base64url = /^[A-Za-z0-9_-]+$/;

/** Why `token` = `keyAuthorization` cannot be answered, or undefined when it can. */
export function challengeEntryProblem(token: string, keyAuthorization: string): string | undefined {
  const shownToken = JSON.stringify(token.slice(0, 64));
  if (token.length === 0 || token.length > maxTokenLength || !base64url.test(token)) {
    return `the challenge token ${shownToken} is not 1 to ${maxTokenLength} base64url characters`;
  }
  const thumbprint = keyAuthorization.slice(token.length + 1);
  if (
    keyAuthorization.length > maxKeyAuthorizationLength ||
    !keyAuthorization.startsWith(`${token}.`) ||
    !base64url.test(thumbprint)
  ) {
    return `the key authorization of challenge ${shownToken} is not <token>.<thumbprint> (base64url, at most ${maxKeyAuthorizationLength} characters)`;
  }
  return undefined;
}
