/**
 * The renderer's only door to the main process: a narrow facade built from the contract.
 * No raw ipcRenderer, no subscription to arbitrary channels; requests for channels the
 * contract does not name never leave the renderer.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { ipcChannels, isChannel, type SophiaApi, type SophiaEvent } from '../shared/contract';
import { fail, SophiaError } from '../shared/errors';

const api: SophiaApi = {
  request: async (channel, input) => {
    if (!isChannel(channel)) return fail(new SophiaError('unknown_channel', 'Unknown channel.'));
    return ipcRenderer.invoke(ipcChannels.request, channel, input);
  },
  onEvent: (listener) => {
    const forward = (_event: IpcRendererEvent, payload: SophiaEvent): void => listener(payload);
    ipcRenderer.on(ipcChannels.event, forward);
    return () => {
      ipcRenderer.off(ipcChannels.event, forward);
    };
  },
};

contextBridge.exposeInMainWorld('sophia', api);
