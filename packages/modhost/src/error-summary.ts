import { isModhostError, summarizeCause } from '@modhost/core';

/** The code and message of anything thrown, as events and status show them (a plain Error's name stands for its code). */
export const errorSummary = (e: unknown): { code: string; message: string } => ({
  code: isModhostError(e) ? e.code : e instanceof Error ? e.name : 'Error',
  message: isModhostError(e) ? e.message : summarizeCause(e),
});
