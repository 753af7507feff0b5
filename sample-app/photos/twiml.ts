/** A TwiML document that texts `text` back to the sender (Twilio sends the reply of a 200 answer as an SMS). */
export function twimlMessage(text: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Response><Message>${escapeXml(text)}</Message></Response>`;
}

/** The media type of TwiML answers. */
export const twimlContentType = 'text/xml; charset=utf-8';

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
