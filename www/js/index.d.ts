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
  /**
   * The studies as the server recorded them (`upload/init`'s answer), in
   * table order, each with its StudyInstanceUID and the tus upload URL of
   * its zip.
   */
  studies: { id: string; studyUid: string; uploadUrl?: string }[];
}

/** The `code` of an {@link AuraloaderError}. */
export type AuraloaderErrorCode =
  /** The config object could not be read (a setting of the wrong type). */
  | "invalid_config"
  /** `init()`: no element with the `containerId`. */
  | "container_not_found"
  /** `mount()` or `upload()` before `init()` completed. */
  | "not_initialized"
  /** The Aura API or the upload (tus) server could not be reached, after retries. */
  | "network_error"
  /** The Aura API rejected the upload token or API key, or the tus server the lift token (401/403): get a new token. */
  | "auth_failed"
  /** `GET /uploader/config` failed. */
  | "config_failed"
  /** `GET /uploader/config` answered something unusable. */
  | "config_invalid"
  /** A lifecycle call or the transfer failed. */
  | "upload_failed"
  /** The dropped files could not be read. */
  | "scan_failed"
  /** The method does not apply now (e.g. `upload()` with no studies). */
  | "invalid_state"
  /** A method argument is not what it expects. */
  | "invalid_argument"
  /** The instance was destroyed. */
  | "destroyed"
  /** The UI could not be rendered into the container. */
  | "mount_failed";

/** An error from the widget: a JS `Error` with a machine code and, for HTTP failures, the status. */
export interface AuraloaderError extends Error {
  name: "AuraloaderError";
  code: AuraloaderErrorCode;
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

/**
 * Every text the widget shows (English by default). Texts with `{name}`
 * placeholders are filled in by the widget.
 */
export interface AuraloaderStrings {
  regionLabel: string;
  title: string;
  dropHelp: string;
  chooseFiles: string;
  chooseFolder: string;
  processingTitle: string;
  /** `{scanned}`, `{total}`, `{skipped}` */
  processingCount: string;
  processingProgress: string;
  /** `{count}` */
  pendingTitle: string;
  noStudies: string;
  studiesCaption: string;
  colPatient: string;
  colBirthDate: string;
  colStudyDate: string;
  colDescription: string;
  colModalities: string;
  colSeries: string;
  colImages: string;
  colSize: string;
  colActions: string;
  remove: string;
  /** `{description}`, `{date}` */
  removeLabel: string;
  /** `{count}` */
  skippedSummary: string;
  warningsTitle: string;
  /** `{count}` */
  warningSeveralPatients: string;
  /** `{count}`, `{fields}` */
  warningContextMismatch: string;
  fieldName: string;
  fieldDateOfBirth: string;
  fieldSex: string;
  upload: string;
  cancel: string;
  uploadingTitle: string;
  overallProgress: string;
  /** `{description}` */
  studyProgress: string;
  /** `{sent}`, `{total}` */
  bytesSent: string;
  /** `{speed}` */
  speed: string;
  /** `{time}` */
  timeLeft: string;
  /** `{seconds}` */
  retrying: string;
  studyWaiting: string;
  studySending: string;
  studyDone: string;
  studyFailed: string;
  completeTitle: string;
  /** `{count}` */
  completeText: string;
  uploadMore: string;
  errorTitle: string;
  /** Under the message when a token was refused (`auth_failed`). */
  errorAuthHint: string;
  retry: string;
  startOver: string;
  cancelledTitle: string;
  cancelledText: string;
}

/** A rule that leaves out instances whose attributes all match (trimmed, case-insensitive). */
export interface RejectRule {
  /** Shown to the user as the reason. */
  description: string;
  sopClassUid?: string;
  protocolName?: string;
  modality?: string;
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
  /** Extra metadata sent with `upload/init`; `context.patient` is compared with the files' patient. */
  context?: UploadContext;
  callbacks?: Callbacks;
  /** Overrides of the widget's texts; keys left out keep the English default. */
  strings?: Partial<AuraloaderStrings>;
  /** Colour scheme; `auto` follows the system. Default `light`. */
  theme?: "light" | "dark" | "auto";
  /** Bytes per upload request, at least 65536. Default 5 MiB. */
  chunkSize?: number;
  /** Studies uploaded at once, 1 to 16. */
  parallelUploads?: number;
  /**
   * Milliseconds an upload request may go without progress or answer before
   * it is aborted and retried, 1000 to 3600000. Default 30000.
   */
  stallTimeoutMs?: number;
  /** Instances to leave out, besides the built-in rule for Philips ExamCards. */
  rejectRules?: RejectRule[];
  /** Modalities accepted (e.g. `["CT", "MR"]`); series of others are left out. Default: all. */
  allowedModalities?: string[];
}

export declare class StandaloneAuraloader {
  /** Throws `apiToken is required`, `apiBaseUrl must be a valid URL`, … like the published widget. */
  constructor(config: StandaloneAuraloaderConfig);
  /** Resolves once the WebAssembly module is loaded. Optional: every method waits for it. */
  static ready(): Promise<void>;
  /** The current step. */
  readonly state: UploaderState;
  /** Checks the container and fetches `GET /uploader/config`; rejects with an {@link AuraloaderError}. */
  init(): Promise<void>;
  /** Renders the widget into its container (in a shadow root); rejects before `init()`. */
  mount(): Promise<void>;
  /** Uploads the studies listed; resolves when the upload is over (outcome through the callbacks). */
  upload(): Promise<void>;
  /** Cancels the scan or the upload. */
  cancel(): Promise<void>;
  /** Returns to the start step. */
  reset(): Promise<void>;
  /** Removes a study (by Study Instance UID) before the upload. */
  removeStudy(studyInstanceUid: string): Promise<void>;
  /** Scans files as if they were dropped on the widget (an auraloader extra). */
  addFiles(files: File[] | FileList): Promise<void>;
  /** Unmounts, aborts requests and removes every listener; a new instance can mount in the same container. */
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
