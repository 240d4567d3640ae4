/** The model bundled with the app, so the chat works with no download from elsewhere. */
export const defaultModelUrl = '/models/stories260K/stories260K.gguf';

export function chatPath(modelUrl: string): string {
  return `/chat?${new URLSearchParams({ model: modelUrl })}`;
}
