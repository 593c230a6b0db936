#!/usr/bin/env node
// `npx sophia-mcp code|infra`: Sophia's MCP servers over stdio (built by `npm run build`).
import '../out/main/mcp.js';
