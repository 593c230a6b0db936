import { describe, expect, it } from 'vitest';
import { recognizeIntent } from '../../shared/intents';

describe('intent recognition', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['review the employees table definition', 'code-review'],
    ['Can you audit this function for best practices?', 'code-review'],
    ['Refactor the payment module to use async/await', 'code-edit'],
    ['Rename getUser to fetchUser everywhere', 'code-edit'],
    ['add a PHONE_NUMBER column to the EMPLOYEES table', 'code-edit'],
    ['create a function to summarize Gong customer interactions', 'code-generate'],
    ['Write a script that backs up the database', 'code-generate'],
    ['generate a new React component for the login form', 'code-generate'],
    ['commit these changes and open a pull request', 'github-commit'],
    ['push to main', 'github-commit'],
    ['deploy the staging stack with pulumi', 'infra-deploy'],
    ['add a new staging environment for the MCP servers', 'infra-deploy'],
    ['Deploy the Snowflake schema changes to staging', 'infra-deploy'],
    ['preview the changes to the prod stack', 'infra-deploy'],
    ['the build fails with a TypeError, why?', 'troubleshoot'],
    ['Why does the nightly job crash?', 'troubleshoot'],
    ['What is a warehouse size in Snowflake?', 'question'],
    ['Apply the DDL to the analytics warehouse', 'infra-deploy'],
    ['What does this regex do?', 'question'],
    ['hello', 'question'],
  ];
  it.each(cases)('%s -> %s', (text, expected) => {
    expect(recognizeIntent(text).intent).toBe(expected);
  });

  it('prefers the state-changing intent when scores tie', () => {
    // "review" (3) vs "edit" (3): the edit plan, with its approval step, is the one shown.
    expect(recognizeIntent('review and edit the config').intent).toBe('code-edit');
  });

});
