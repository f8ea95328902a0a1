// Types of auraloader's published API (the same as @aurabx/standalone-uploader's).

/** Patient details from the host page, checked against the DICOM patient. */
export interface ContextPatient {
  given_names?: string;
  family_name?: string;
  /** `YYYY-MM-DD` */
  date_of_birth?: string;
  sex?: string;
}

/** Extra metadata sent with `upload/init`. */
export interface UploadContext {
  patient_id?: string;
  referral_id?: string;
  patient?: ContextPatient;
  [key: string]: unknown;
}

/** One series of a study, as sent to `upload/init`. */
export interface SeriesInfo {
  study_instance_uid: string;
  series_instance_uid: string;
  modality: string;
  series_description: string;
  body_part_examined: string;
  series_date: string;
  series_time: string;
  study_date: string;
  series_number: string;
}

/** One study found in the dropped files, keyed by StudyInstanceUID in `upload/init`. */
export interface StudyInfo {
  study_uid: string;
  study_description: string;
  institution_name: string;
  patient_id: string;
  patient_name: string;
  study_date: string;
  study_time: string;
  modalities: string[];
  series: Record<string, SeriesInfo>;
  images: number;
  series_count: number;
}

/** What `onUploadComplete` receives. */
export interface UploadResult {
  /** The session's UUID v4, as sent to `upload/init`. */
  uploadId: string;
  /** The studies as the server recorded them (`upload/init`'s answer). */
  studies: { id: string }[];
}

/** An error from the widget: a JS `Error` with a machine code and, for HTTP failures, the status. */
export interface AuraloaderError extends Error {
  name: "AuraloaderError";
  code: string;
  statusCode?: number;
}

/** The widget's step. */
export type UploaderState =
  | "idle"
  | "processing"
  | "pending"
  | "uploading"
  | "complete"
  | "error"
  | "cancelled";

export interface Callbacks {
  onUploadComplete?: (result: UploadResult) => void;
  onUploadError?: (error: AuraloaderError) => void;
  onUploadCancel?: () => void;
  onStudiesFound?: (studies: StudyInfo[]) => void;
  onStateChange?: (state: UploaderState) => void;
}

export interface StandaloneAuraloaderConfig {
  /** Service API key for team/realm identification (not a secret). */
  apiToken: string;
  /** Base URL of the Aura API, ending in `/api`. */
  apiBaseUrl: string;
  /** Ephemeral upload token (`aubt_…`) from your backend. */
  uploadToken: string;
  /** Id of the element the widget renders into. */
  containerId: string;
  /** Aurabox patient id, if known. */
  patientId?: string;
  /** Extra metadata sent with `upload/init`. */
  context?: UploadContext;
  callbacks?: Callbacks;
}

export declare class StandaloneAuraloader {
  /** Throws `apiToken is required`, `apiBaseUrl must be a valid URL`, … like the published widget. */
  constructor(config: StandaloneAuraloaderConfig);
  /** Resolves once the WebAssembly module is loaded. Optional: every method waits for it. */
  static ready(): Promise<void>;
  init(): Promise<void>;
  mount(): Promise<void>;
  upload(): Promise<void>;
  cancel(): Promise<void>;
  reset(): Promise<void>;
  removeStudy(studyInstanceUid: string): Promise<void>;
  destroy(): void;
}

/** An axios-style request config, as `HmacSigner.sign` reads and extends it. */
export interface SignableRequestConfig {
  method?: string;
  url?: string;
  baseURL?: string;
  headers?: Record<string, string>;
  data?: unknown;
}

/** Fixed values for reproducible signatures (tests, examples). */
export interface SignOptions {
  /** Unix seconds. */
  timestamp?: number;
  /** A UUID v4. */
  nonce?: string;
}

/** Signs Aura API requests with AURA-HMAC-SHA256. Backend only: the secret must never reach a browser. */
export declare class HmacSigner {
  /** Throws `appId is required` / `appSecret is required`. */
  constructor(appId: string, appSecret: string);
  /** Adds X-Aura-Timestamp, X-Aura-Nonce, Authorization (and Content-Type for a body) to `config.headers`. */
  sign<T extends SignableRequestConfig>(config: T, options?: SignOptions): Promise<T & { headers: Record<string, string> }>;
}

export declare function createSigner(appId: string, appSecret: string): HmacSigner;

/** Resolves once the WebAssembly module is loaded. */
export declare function ready(): Promise<unknown>;
