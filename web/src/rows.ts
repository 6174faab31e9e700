// The app's rows as they arrive (from the API or the stream), typed from the drizzle
// schema: Wire<> turns the schema's Date columns into the ISO strings that travel.
import type { Wire } from '@realtime/react';
import type { dataLayers, extractionJobs, extractionResults, projects, supplierMatches } from '@realtime/db/schema';

export type Project = Wire<typeof projects.$inferSelect>;
export type ExtractionJob = Wire<typeof extractionJobs.$inferSelect>;
export type ExtractionResult = Wire<typeof extractionResults.$inferSelect>;
export type DataLayer = Wire<typeof dataLayers.$inferSelect>;
export type SupplierMatch = Wire<typeof supplierMatches.$inferSelect>;
