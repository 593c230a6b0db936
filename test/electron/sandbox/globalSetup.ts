/**
 * Before the sandbox tests: the sandbox image must exist. It is made by the product's own
 * build step (debootstrap, then docker import), cached by the recipe's hash, so this takes
 * about two minutes the first time on a machine and a moment afterwards.
 */
import { createDockerClient, pingDocker } from '../../../electron/sandbox/dockerClient';
import { ensureSandboxImage } from '../../../electron/sandbox/sandboxImage';

export default async function setup(): Promise<void> {
  const docker = createDockerClient();
  const ping = await pingDocker(docker, 10_000);
  if (!ping.ok) throw new Error(`The sandbox tests run against a real Docker engine. ${ping.message}`);
  const result = await ensureSandboxImage(docker);
  if (result.built) process.stderr.write(`sandbox image ${result.image} built in ${Math.round(result.durationMs / 1000)} s\n`);
}
