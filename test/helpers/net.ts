// Below HTTP: a pause, and a raw TCP connection to a server, for the tests that write requests by
// hand (smuggling shapes, slow clients, connection floods, shutdown with idle connections).

import { connect, type Socket } from 'node:net';

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A raw TCP connection to the host and port of `url`, resolved once connected. An error after that
 * (a reset by the server) is swallowed: the tests read what the server sent and whether it closed.
 */
export function openSocket(url: string): Promise<Socket> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
