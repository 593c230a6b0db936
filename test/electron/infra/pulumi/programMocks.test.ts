/**
 * A person's own TypeScript Pulumi program (test/fixtures/pulumi-program: a staging
 * environment for the MCP servers) unit-tested the way Pulumi documents it, with the SDK's
 * own `pulumi.runtime.setMocks`: no engine, no CLI and no provider. The mocks answer
 * resource registrations (`newResource`) and provider functions (`call`); the test asserts
 * on the resources' names, types, inputs, parents and computed outputs, and on the stack's
 * outputs. The program is imported only after the mocks are in place, since constructing
 * its resources is what registers them.
 */
import * as pulumi from '@pulumi/pulumi';
import { beforeAll, describe, expect, it } from 'vitest';
// Types only: erased, so the program is not loaded before the mocks are set.
import type * as Program from '../../../fixtures/pulumi-program/index';

interface Registration {
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  readonly inputs: Record<string, unknown>;
}

const registrations: Registration[] = [];
const calls: { token: string; inputs: Record<string, unknown> }[] = [];

/** What the person's provider would compute, made predictable. */
function computed(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case 'sophia:mcp:Server':
      return { endpoint: `http://${name}.internal:8080` };
    case 'sophia:mcp:Registry':
      return { url: `https://${name}.mcp.example` };
    case 'sophia:mcp:Gateway':
      return { url: `https://${String(inputs['hostname'])}` };
    default:
      return {};
  }
}

let program: typeof Program;

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registrations.push({ type: args.type, name: args.name, custom: args.custom ?? false, inputs: args.inputs as Record<string, unknown> });
        // Component resources have no physical id.
        return { id: args.custom ? `${args.name}-id` : undefined, state: { ...args.inputs, ...computed(args.type, args.name, args.inputs as Record<string, unknown>) } };
      },
      call: (args) => {
        calls.push({ token: args.token, inputs: args.inputs as Record<string, unknown> });
        if (args.token === 'sophia:mcp:getImageDigest') return { digest: `sha256:${String(args.inputs.image).replace(/[^a-z0-9]/g, '')}` };
        throw new Error(`unexpected provider function ${args.token}`);
      },
    },
    'mcp-servers',
    'staging',
  );
  pulumi.runtime.setAllConfig({ 'mcp-servers:replicas': '2' });
  program = await import('../../../fixtures/pulumi-program/index');
});

/** An output's resolved value (the mocks resolve every output; nothing stays unknown). */
function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => {
    output.apply((value) => {
      resolve(value);
      return value;
    });
  });
}

/** Registrations are asynchronous: wait for the last resource's outputs before reading them. */
async function settled(): Promise<Registration[]> {
  await valueOf(program.gatewayUrl);
  return registrations;
}

describe('the MCP servers staging program under pulumi.runtime.setMocks', () => {
  it('registers the environment component, its network, registry, one server per image and a gateway', async () => {
    const registered = await settled();
    expect(registered.map((entry) => `${entry.type} ${entry.name}`).sort()).toEqual([
      'sophia:mcp:Environment staging',
      'sophia:mcp:Gateway staging-gateway',
      'sophia:mcp:Registry staging-registry',
      'sophia:mcp:Server staging-filesystem-server',
      'sophia:mcp:Server staging-github-server',
      'sophia:net:Network staging-network',
    ]);
    expect(registered.filter((entry) => !entry.custom).map((entry) => entry.type)).toEqual(['sophia:mcp:Environment']);
  });

  it('parents every resource to the environment component', async () => {
    const urns = await Promise.all([program.mcp.network, program.mcp.registry, program.mcp.gateway, ...program.mcp.servers].map((resource) => valueOf(resource.urn)));
    expect(urns).toHaveLength(5);
    for (const urn of urns) expect(urn).toMatch(/^urn:pulumi:staging::mcp-servers::sophia:mcp:Environment\$sophia:(net|mcp):\w+::staging-/);
  });

  it('sizes the staging network and servers from the stack and its configuration', async () => {
    const registered = await settled();
    const network = registered.find((entry) => entry.type === 'sophia:net:Network');
    expect(network?.inputs).toEqual({ cidr: '10.30.0.0/16', environment: 'staging' });
    expect(await valueOf(program.mcp.network.id)).toBe('staging-network-id');

    const servers = registered.filter((entry) => entry.type === 'sophia:mcp:Server');
    expect(servers.map((entry) => entry.inputs)).toEqual(
      expect.arrayContaining([
        { image: 'mcp/github:1.4', digest: 'sha256:mcpgithub14', replicas: 2, network: 'staging-network-id' },
        { image: 'mcp/filesystem:0.9', digest: 'sha256:mcpfilesystem09', replicas: 2, network: 'staging-network-id' },
      ]),
    );
    expect(servers).toHaveLength(2);
  });

  it('pins each server image to the digest the provider function returns', async () => {
    await settled();
    expect(calls.map((call) => call.token)).toEqual(['sophia:mcp:getImageDigest', 'sophia:mcp:getImageDigest']);
    expect(calls.map((call) => call.inputs['image']).sort()).toEqual(['mcp/filesystem:0.9', 'mcp/github:1.4']);
    const digests = await Promise.all(program.mcp.servers.map((server) => valueOf(server.digest)));
    expect(digests.sort()).toEqual(['sha256:mcpfilesystem09', 'sha256:mcpgithub14']);
  });

  it('routes the gateway to every server endpoint and exports its URL', async () => {
    const registered = await settled();
    const gateway = registered.find((entry) => entry.type === 'sophia:mcp:Gateway');
    expect(gateway?.inputs['hostname']).toBe('gateway.staging.mcp.example');
    expect((gateway?.inputs['upstreams'] as string[]).sort()).toEqual(['http://staging-filesystem-server.internal:8080', 'http://staging-github-server.internal:8080']);

    expect(await valueOf(program.gatewayUrl)).toBe('https://gateway.staging.mcp.example');
    expect(await valueOf(program.registryUrl)).toBe('https://staging-registry.mcp.example');
    expect((await valueOf(program.serverEndpoints)).sort()).toEqual(['http://staging-filesystem-server.internal:8080', 'http://staging-github-server.internal:8080']);
  });
});
