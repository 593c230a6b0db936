/**
 * The local socket as a `SandboxEngine`: what the sandbox service uses when it is given no
 * engine (the default socket, or DOCKER_HOST), or only a dockerode client (the existing
 * tests). The client is made on first use, as before: dockerode is required lazily.
 */
import type Docker from 'dockerode';
import { createDockerClient } from '../dockerClient';
import type { SandboxEngine } from './engine';

export function localSocketEngine(docker?: Docker): SandboxEngine {
  let client = docker;
  return {
    id: 'local',
    name: 'This machine',
    kind: 'local',
    remote: false,
    docker: () => (client ??= createDockerClient()),
    // The local socket holds no session open between requests.
    close: () => Promise.resolve(),
  };
}
