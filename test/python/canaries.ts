// Planted canaries for the Python escape tests: the attack catalogue's own (a secret in the
// server's environment, a secret file on the host whose access time shows a read, and a loopback
// TCP listener that records every connection). A test passes only if no response ever contains a
// secret and the listener never sees a connection.
export { type Canaries, plantCanaries } from '../security/harness.js';
