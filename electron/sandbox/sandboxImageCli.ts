/**
 * `npm run sandbox:image`: builds the sandbox image once, outside the app, for a machine
 * where Sophia itself does not run as root (debootstrap needs root):
 *   sudo npm run sandbox:image
 * Prints the image's name; does nothing when it exists already.
 */
import { createDockerClient, pingDocker } from './dockerClient';
import { ensureSandboxImage } from './sandboxImage';

async function main(): Promise<void> {
  const docker = createDockerClient();
  const ping = await pingDocker(docker, 10_000);
  if (!ping.ok) throw new Error(ping.message);
  process.stdout.write('Making the sandbox image (about 5 minutes the first time)…\n');
  const result = await ensureSandboxImage(docker, { onPhase: (phase) => process.stdout.write(`  ${phase}\n`) });
  process.stdout.write(
    result.built ? `Built ${result.image} in ${Math.round(result.durationMs / 1000)} s.\n` : `${result.image} is already on this machine.\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
