// The doors of a WASI preview2 component (docs/security.md, "### Component doors"): for every
// wasi:* interface the in-memory WASI hands a component's glue, each function and resource type
// (by its WIT name) with what the guest can do through it. test/security/doors.test.ts builds the
// same list from the import object createComponentWasi() returns and compares it with this one and
// with the table in docs/security.md: a door added without a row, or a row without a door, fails.

export const COMPONENT_WASI_DOORS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'wasi:cli/environment': {
    'get-environment': 'Answers an empty list: the host environment is never read.',
    'get-arguments': 'Answers an empty list: a component has no arguments (its input is stdin or the call).',
    'initial-cwd': 'Answers none: there is no working directory (and no filesystem).',
  },
  'wasi:cli/exit': {
    exit: 'Stops the call with an exit (ok is 0, err is 1), readable by the caller as `stop`; never the host process.',
    'exit-with-code': 'As exit, with the guest status code (0-255).',
  },
  'wasi:cli/stdin': {
    'get-stdin':
      "An input stream over the call's stdin bytes (a command's JSON arguments); every handle reads on from the same offset.",
  },
  'wasi:cli/stdout': {
    'get-stdout':
      "An output stream into the caller's capped stdout buffer; a write past the cap stops the call.",
  },
  'wasi:cli/stderr': {
    'get-stderr': "An output stream into the caller's capped stderr buffer (same cap as stdout).",
  },
  'wasi:cli/terminal-input': {
    'terminal-input': 'Resource type only: no stream is a terminal, so no instance ever exists.',
  },
  'wasi:cli/terminal-output': {
    'terminal-output': 'Resource type only: no stream is a terminal, so no instance ever exists.',
  },
  'wasi:cli/terminal-stdin': {
    'get-terminal-stdin': 'Answers none: stdin is not a terminal.',
  },
  'wasi:cli/terminal-stdout': {
    'get-terminal-stdout': 'Answers none: stdout is not a terminal.',
  },
  'wasi:cli/terminal-stderr': {
    'get-terminal-stderr': 'Answers none: stderr is not a terminal.',
  },
  'wasi:io/error': {
    error:
      'A message for a failed stream operation (to-debug-string); made only by the host, counted against the resource cap.',
  },
  'wasi:io/poll': {
    pollable:
      'Readiness of a stream (always ready) or a clock (ready at its time); block sleeps, never past the deadline.',
    poll: 'Sleeps until one listed pollable is ready (at most 4096 listed), never past the deadline: then the call stops with a timeout; waiting on nothing without a deadline is a deadlock stop.',
  },
  'wasi:io/streams': {
    'input-stream': "Reads and skips the call's stdin (closed at its end); subscribe is always ready.",
    'output-stream':
      "Writes to the caller's stdout or stderr buffer (check-write permits 1 MiB, blocking writes 4096 bytes per the spec); flush is a no-op, splice reads stdin.",
  },
  'wasi:clocks/monotonic-clock': {
    now: 'Nanoseconds since the call started, in 100 µs steps (the side-channel stance).',
    resolution: 'Answers 100 µs.',
    'subscribe-instant': 'A pollable ready at that instant (sleeping on it never passes the deadline).',
    'subscribe-duration': 'A pollable ready after that duration (sleeping on it never passes the deadline).',
  },
  'wasi:clocks/wall-clock': {
    now: 'The host wall-clock time in 100 µs steps.',
    resolution: 'Answers 100 µs.',
  },
  'wasi:random/random': {
    'get-random-bytes':
      "Bytes from the host's CSPRNG (crypto.getRandomValues), at most 1 MiB per request (more stops the call with a limit).",
    'get-random-u64': "A u64 from the host's CSPRNG.",
  },
  'wasi:random/insecure': {
    'get-insecure-random-bytes': 'As get-random-bytes (CSPRNG too).',
    'get-insecure-random-u64': 'As get-random-u64 (CSPRNG too).',
  },
  'wasi:random/insecure-seed': {
    'insecure-seed':
      'Two CSPRNG u64s drawn once per call (hash-map seeding), never shared with another call.',
  },
  'wasi:filesystem/preopens': {
    'get-directories': 'Answers an empty list: no directory is preopened, so no path can be opened.',
  },
  'wasi:filesystem/types': {
    descriptor: 'Resource type only: without a preopen no descriptor ever exists.',
    'directory-entry-stream': 'Resource type only: no directory can be read.',
    'filesystem-error-code': 'Answers none (no filesystem error ever exists).',
  },
  'wasi:sockets/network': {
    network: 'The handle instance-network gives; nothing accepts it (every socket function is refused).',
    'network-error-code': 'Answers none.',
  },
  'wasi:sockets/instance-network': {
    'instance-network': 'A fresh network handle that opens nothing.',
  },
  'wasi:sockets/tcp-create-socket': {
    'create-tcp-socket':
      'Refused with the WIT error access-denied (the guest sees a failed socket; the caller sees the door in `refused`).',
  },
  'wasi:sockets/tcp': {
    'tcp-socket': 'Resource type only: no socket can be created.',
  },
  'wasi:sockets/udp-create-socket': {
    'create-udp-socket': 'Refused with the WIT error access-denied (as create-tcp-socket).',
  },
  'wasi:sockets/udp': {
    'udp-socket': 'Resource type only: no socket can be created.',
    'incoming-datagram-stream': 'Resource type only: no socket can be created.',
    'outgoing-datagram-stream': 'Resource type only: no socket can be created.',
  },
  'wasi:sockets/ip-name-lookup': {
    'resolve-addresses': 'Refused with the WIT error access-denied: no name is resolved.',
    'resolve-address-stream': 'Resource type only: no lookup can start.',
  },
  'wasi:http/types': {
    fields:
      'Constructing one (or from-list) stops the call with a refusal naming it: componentize-js components import wasi:http for fetch, which the sandbox does not offer.',
    'future-incoming-response':
      'Resource type only (no request can be sent); anything reaching it stops the call.',
    'future-trailers': 'Resource type only; anything reaching it stops the call.',
    'incoming-body': 'Resource type only (finish stops the call with a refusal).',
    'incoming-request': 'Resource type only; the component is never an HTTP server.',
    'incoming-response': 'Resource type only; no response ever arrives.',
    'outgoing-body': 'Resource type only (finish stops the call with a refusal).',
    'outgoing-request':
      'Constructing one stops the call with a refusal naming it: no HTTP request is ever made.',
    'outgoing-response': 'Constructing one stops the call with a refusal naming it.',
    'request-options': 'Constructing one stops the call with a refusal naming it.',
    'response-outparam': 'Resource type only (set stops the call with a refusal).',
    'http-error-code': 'Stops the call with a refusal (no HTTP error can exist).',
  },
  'wasi:http/outgoing-handler': {
    handle:
      'Stops the call with a refusal naming it: the sandbox makes no HTTP request (unreachable anyway: no request can be built).',
  },
};

/** A JavaScript member name of jco's glue (getStdout, OutputStream) as its WIT name (get-stdout, output-stream). */
export function witName(jsName: string): string {
  return jsName.replace(/[A-Z]/g, (c, at: number) => (at === 0 ? '' : '-') + c.toLowerCase());
}
