/** A Pulumi YAML project and a `file://` state folder for the stand-in CLI (`pulumiCli/`). */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** The installation root the Automation API is pointed at: `<root>/bin/pulumi` is the stand-in. */
export const pulumiStandInRoot = path.resolve(import.meta.dirname, 'pulumiCli');

export const mcpProgram = `name: mcp-servers
runtime: yaml
description: The MCP servers' infrastructure
config:
  replicas:
    type: integer
    default: 1
resources:
  network:
    type: sophia:net:Network
    properties:
      cidr: 10.20.0.0/16
      environment: \${pulumi.stack}
  registry:
    type: sophia:mcp:Registry
    properties:
      network: \${network.id}
outputs:
  registryUrl: https://registry.\${pulumi.stack}.mcp.example
`;

/** The program after "add a new staging environment for the MCP servers": servers, a gateway and a bigger network. */
export const mcpProgramWithServers = `${mcpProgram.replace('10.20.0.0/16', '10.30.0.0/16').split('outputs:')[0]}  github-server:
    type: sophia:mcp:Server
    properties:
      image: mcp/github:1.4
      replicas: \${replicas}
      network: \${network.id}
  filesystem-server:
    type: sophia:mcp:Server
    properties:
      image: mcp/filesystem:0.9
      replicas: \${replicas}
      network: \${network.id}
  gateway:
    type: sophia:mcp:Gateway
    properties:
      servers: [github-server, filesystem-server]
outputs:
  registryUrl: https://registry.\${pulumi.stack}.mcp.example
  gatewayUrl: https://gateway.\${pulumi.stack}.mcp.example
  gatewayId: \${gateway.id}
`;

export interface PulumiFixture {
  /** The workspace root; the project is in `infra/`. */
  readonly workspace: string;
  readonly projectDir: string;
  readonly backendUrl: string;
}

export async function makePulumiWorkspace(program = mcpProgram, workspace?: string): Promise<PulumiFixture> {
  const root = workspace ?? (await mkdtemp(path.join(os.tmpdir(), 'sophia-pulumi-ws-')));
  const projectDir = path.join(root, 'infra');
  await mkdir(projectDir, { recursive: true });
  await writeFile(path.join(projectDir, 'Pulumi.yaml'), program);
  const state = await mkdtemp(path.join(os.tmpdir(), 'sophia-pulumi-state-'));
  return { workspace: root, projectDir, backendUrl: `file://${state}` };
}
