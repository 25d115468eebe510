/** @module Entry point: paint the shell at once; the SDK chunk loads behind it. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App, loadEngine } from './ui/App.js';
import './styles.css';

// Start fetching the SDK chunk now, in parallel with React's first render.
void loadEngine().catch(() => undefined);

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
