import { defineConfig } from '../src/index.ts';
import { ProductCreated, ProductPurchased } from './events.ts';

export default defineConfig({ events: [ProductCreated, ProductPurchased] });
