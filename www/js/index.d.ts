// Types of auraloader's JavaScript API. Every name and field of the published
// @aurabx/standalone-uploader 1.0.x is here with its published type (see
// docs/spec/API.md, "The widget's JavaScript surface"); what auraloader adds
// comes on top, as optional fields (always set by auraloader where the doc
// says so, optional so that objects written against the published types still
// type-check) and as types of its own.

// ---------------------------------------------------------------------------
// The published types.

/** The steps of the upload (`state.step`); `"start"` is the drop zone. */
export type UploaderStep =
  | "start"
  | "processing"
  | "pending"
  | "uploading"
  | "complete"
  | "error"
  | "cancelled";

/**
 * What `onStateChange` receives and the `state` getter returns: a fresh
 * object on every change of any of its fields (the arrays are shared between
 * objects until they change; treat them as read-only).
 *
 * The ten published fields change as the published widget's do, and reach
 * `onStateChange` at once. auraloader's extras (every optional field below,
 * always present in auraloader's objects) are counters that change often:
 * when only they change, a new object comes at most every 250 ms, and the
 * last one always comes.
 */
export interface UploaderState {
  /** The screen shown. */
  step: UploaderStep;
  /** DICOM files of the studies to upload (set when the scan ends, updated by `removeStudy`). */
  totalFiles: number;
  /** Studies to upload. */
  studiesCount: number;
  /** Series of those studies. */
  seriesCount: number;
  /** The studies, as given to `onStudiesFound`. */
  studies: StudyInfo[];
  /** True once the upload finished (with `step` `"complete"`). */
  complete: boolean;
  /** The id the server returned for the last study of `upload/init`, else `""`. */
  studyId: string;
  /** True while a study's archive is being prepared (read and compressed). */
  zipping: boolean;
  /** The message shown in the error step, else `""`. */
  errorMessage: string;
  /** True while a lost connection is being retried. */
  connectionIssues: boolean;

  /** auraloader: scan progress (files read, files in the drop, files skipped so far). */
  scan?: ScanProgress;
  /** auraloader: bytes that left the browser during the upload (acknowledged or on the wire). */
  bytesSent?: number;
  /** auraloader: bytes to send (each study's files' size until its archive's exact length is known). */
  bytesTotal?: number;
  /** auraloader: recent upload speed in bytes per second, `null` until measured. */
  bytesPerSecond?: number | null;
  /** auraloader: estimated seconds left, `null` until measured. */
  secondsLeft?: number | null;
  /** auraloader: seconds until the next attempt while the connection is lost, else `null`. */
  retryInSeconds?: number | null;
  /** auraloader: one entry per study of the upload, in table order (empty before `upload()`). */
  uploads?: StudyUploadProgress[];
  /** auraloader: the error's {@link AuraloaderErrorCode} in the error step, else `""`. */
  errorCode?: AuraloaderErrorCode | "";
  /** auraloader: files of the drop that will not be uploaded, and why. */
  skipped?: SkippedFile[];
  /** auraloader: patient checks the user should look at before uploading. */
  warnings?: PatientWarning[];
}

export interface AuraloaderCallbacks {
  onUploadComplete?: (result: UploadResult) => void;
  onUploadError?: (error: AuraloaderError) => void;
  onUploadCancel?: () => void;
  onStudiesFound?: (studies: StudyInfo[]) => void;
  onStateChange?: (state: UploaderState) => void;
}

/** The configuration of `new StandaloneAuraloader(config)`. */
export interface AuraloaderConfig {
  /** Service API key for team/realm identification (not a secret). */
  apiToken: string;
  /** Base URL of the Aura API, ending in `/api`. */
  apiBaseUrl: string;
  /** Id of the element the widget renders into (its content is replaced). */
  containerId: string;
  /** Aurabox patient id, if known. */
  patientId?: string;
  /** Ephemeral upload token (`aubt_…`) from your backend. */
  uploadToken: string;
  /** Extra metadata sent with `upload/init`; `context.patient` ({@link ContextPatient}) is compared with the files' patient. */
  context?: UploadContext | Record<string, unknown>;
  callbacks?: AuraloaderCallbacks;

  /** auraloader: overrides of the widget's texts; keys left out keep the English default. */
  strings?: Partial<AuraloaderStrings>;
  /** auraloader: colour scheme; `auto` follows the system. Default `light`. */
  theme?: "light" | "dark" | "auto";
  /** auraloader: bytes per upload request, at least 65536. Default 5 MiB. */
  chunkSize?: number;
  /** auraloader: studies uploaded at once, 1 to 16. Default 2. */
  parallelUploads?: number;
  /**
   * auraloader: milliseconds an upload request may go without progress or
   * answer before it is aborted and retried, 1000 to 3600000. Default 30000.
   */
  stallTimeoutMs?: number;
  /** auraloader: instances to leave out, besides the built-in rule for Philips ExamCards. */
  rejectRules?: RejectRule[];
  /** auraloader: modalities accepted (e.g. `["CT", "MR"]`); series of others are left out. Default: all. */
  allowedModalities?: string[];
}

/**
 * One study found in the dropped files (`onStudiesFound`, `state.studies`,
 * and keyed by StudyInstanceUID in `upload/init`).
 */
export interface StudyInfo {
  study_uid: string;
  patient_name: string;
  patient_id: string;
  study_date: string;
  study_time: string;
  study_description: string;
  institution_name: string;
  modalities: string[];
  series_count: number;
  images: number;
  /** auraloader (and the `upload/init` body): the study's series by SeriesInstanceUID. */
  series?: Record<string, UploadSeriesInfo>;
}

/** A series, as the published package types it. */
export interface SeriesInfo {
  series_uid: string;
  series_description: string;
  modality: string;
  images: number;
}

/** The answer of `GET /uploader/config`. */
export interface UploaderConfigResponse {
  lift: {
    endpoint: string;
    token: string;
    bucket: string;
  };
  mode: string;
}

/** The body of `POST /uploader/upload/init`. */
export interface UploadInitRequest {
  upload_id: string;
  studies: Record<string, StudyInfo>;
  mode: string;
  source: string;
  patient_id?: string;
  app?: {
    id: string;
    token: string;
  };
  context?: Record<string, unknown>;
}

/** The answer of `POST /uploader/upload/init`. */
export interface UploadInitResponse {
  studies: Array<{ id: string }>;
}

/** The body of the other lifecycle calls (`start`, `complete`, `error`, `cancel`). */
export interface UploadLifecycleRequest {
  upload_id: string;
  assembly_id?: string;
  mode?: string;
  message?: string;
}

/** What `onUploadComplete` receives. */
export interface UploadResult {
  /** The session's UUID v4, as sent to `upload/init`. */
  uploadId: string;
  /**
   * The studies as the server recorded them (`upload/init`'s answer), in
   * table order.
   */
  studies: Array<{
    id: string;
    /** auraloader: the study's StudyInstanceUID. */
    studyUid?: string;
    /** auraloader: the tus upload URL of the study's archive. */
    uploadUrl?: string;
  }>;
  /** DICOM files in the archives the server acknowledged (every file of every uploaded study). */
  successful: number;
  /**
   * DICOM files of studies whose upload failed. Always 0 here: a study that
   * fails ends the upload in `onUploadError` instead, and Retry sends what
   * is left.
   */
  failed: number;
}

/**
 * An error from the widget (`onUploadError`, and the rejections of its
 * methods). At run time it is a JS `Error` named `AuraloaderError`.
 */
export interface AuraloaderError {
  /**
   * Where it happened: `"init"` (the container, `GET /uploader/config`),
   * `"mount"`, `"scan"` (reading the dropped files), `"upload"` (the
   * lifecycle calls and the transfer), `"addFiles"`, `"removeStudy"`,
   * `"config"` (the config object).
   */
  context: string;
  /** A sentence a person can act on; never patient data. */
  message: string;
  /** The HTTP status, for HTTP failures. */
  statusCode?: number;
  /** auraloader: a machine code (always set). */
  code?: AuraloaderErrorCode;
  /** `"AuraloaderError"`. */
  name?: string;
  stack?: string;
}

/** DICOM attributes read from one file. */
export interface DicomMetadata {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  sopInstanceUID: string;
  patientName: string;
  patientId: string;
  studyDate: string;
  studyTime: string;
  studyDescription: string;
  seriesDescription: string;
  modality: string;
  institutionName: string;
}

/** DICOM attributes by key: tag and name. */
export interface DicomTagMap {
  [key: string]: {
    tag: string;
    name: string;
  };
}

/** Application credentials for HMAC signing. Backend only. */
export interface HmacCredentials {
  /** Application public id. */
  appId: string;
  /** Application secret. */
  appSecret: string;
}

/** An axios-style request config, as `HmacSigner.sign` reads and extends it. */
export interface SignableRequest {
  /** HTTP method; default `GET`. */
  method?: string;
  /** Request URL, relative to `baseURL` or absolute. */
  url?: string;
  /** Base URL the `url` is joined to. */
  baseURL?: string;
  /** Request headers; `sign` adds its own. */
  headers?: Record<string, string>;
  /** Request body: a string as is, anything else as `JSON.stringify(data)`. */
  data?: unknown;
  /** Query parameters, signed as the query string they make (send them in the URL too). */
  params?: Record<string, string | number | boolean>;
}

/** The headers `sign` adds. */
export interface SignedRequestHeaders {
  Authorization: string;
  /** Unix seconds. */
  "X-Aura-Timestamp": string;
  /** UUID v4. */
  "X-Aura-Nonce": string;
}

/** The parts of an `Authorization: AURA-HMAC-SHA256 …` header. */
export interface AuthorizationComponents {
  algorithm: string;
  credential: string;
  signedHeaders: string;
  signature: string;
}

/** Configuration of an HMAC signer. */
export interface HmacSignerConfig {
  credentials: HmacCredentials;
  additionalSignedHeaders?: string[];
}

// ---------------------------------------------------------------------------
// auraloader's own types.

/** auraloader: patient details from the host page, checked against the DICOM patient. */
export interface ContextPatient {
  given_names?: string;
  family_name?: string;
  /** `YYYY-MM-DD` */
  date_of_birth?: string;
  sex?: string;
}

/** auraloader: extra metadata sent with `upload/init`, with the fields the widget reads. */
export interface UploadContext {
  patient_id?: string;
  referral_id?: string;
  patient?: ContextPatient;
  [key: string]: unknown;
}

/** auraloader: one series of a study, as sent to `upload/init` (`StudyInfo.series`). */
export interface UploadSeriesInfo {
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

/** auraloader: `state.scan`. */
export interface ScanProgress {
  /** Files read so far. */
  scanned: number;
  /** Files in the drop. */
  total: number;
  /** Files skipped so far. */
  skipped: number;
}

/** auraloader: one entry of `state.uploads`. */
export interface StudyUploadProgress {
  studyUid: string;
  status: "waiting" | "preparing" | "sending" | "done" | "failed";
  /** Bytes that left the browser. */
  bytesSent: number;
  /** Bytes to send. */
  bytesTotal: number;
}

/** auraloader: a file of the drop that will not be uploaded (`state.skipped`). */
export interface SkippedFile {
  /** Its path in the drop. */
  path: string;
  /** Why, as a sentence. */
  reason: string;
}

/** auraloader: a patient check the user should look at (`state.warnings`). */
export type PatientWarning =
  | {
      /** The studies belong to more than one patient. */
      kind: "several_patients";
      /** Study Instance UIDs grouped by patient. */
      studies_by_patient: string[][];
    }
  | {
      /** Studies whose patient differs from `context.patient`. */
      kind: "context_mismatch";
      study_uids: string[];
      fields: Array<"name" | "date_of_birth" | "sex">;
    };

/** auraloader: the `code` of an {@link AuraloaderError}. */
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

/**
 * auraloader: every text the widget shows (English by default). Texts with `{name}`
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
  studyPreparing: string;
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

/** auraloader: a rule that leaves out instances whose attributes all match (trimmed, case-insensitive). */
export interface RejectRule {
  /** Shown to the user as the reason. */
  description: string;
  sopClassUid?: string;
  protocolName?: string;
  modality?: string;
}

/** auraloader: fixed values for reproducible signatures (tests, examples). */
export interface SignOptions {
  /** Unix seconds. */
  timestamp?: number;
  /** A UUID v4. */
  nonce?: string;
}

// ---------------------------------------------------------------------------
// Earlier auraloader names, kept as aliases.

/** @deprecated The published name is {@link AuraloaderConfig}. */
export type StandaloneAuraloaderConfig = AuraloaderConfig;
/** @deprecated The published name is {@link AuraloaderCallbacks}. */
export type Callbacks = AuraloaderCallbacks;
/** @deprecated The published name is {@link SignableRequest}. */
export type SignableRequestConfig = SignableRequest;

// ---------------------------------------------------------------------------
// Classes, functions and constants.

/** The upload widget. */
export declare class StandaloneAuraloader {
  /** Throws `apiToken is required`, `apiBaseUrl must be a valid URL`, … like the published widget. */
  constructor(config: AuraloaderConfig);
  /** auraloader: resolves once the WebAssembly module is loaded. Optional: every method waits for it. */
  static ready(): Promise<void>;
  /** auraloader: the current state object (a fresh copy, as `onStateChange` gets it). */
  readonly state: UploaderState;
  /** Checks the container and fetches `GET /uploader/config`; rejects with an {@link AuraloaderError}. */
  init(): Promise<void>;
  /** Renders the widget into its container, replacing what it held; rejects before `init()`. */
  mount(): Promise<void>;
  /** Uploads the studies listed; resolves when the upload is over (outcome through the callbacks). */
  upload(): Promise<void>;
  /** Cancels the scan or the upload. */
  cancel(): Promise<void>;
  /** Returns to the start step. */
  reset(): Promise<void>;
  /** Removes a study (by Study Instance UID) before the upload. */
  removeStudy(uid: string): Promise<void>;
  /** auraloader: scans files as if they were dropped on the widget. */
  addFiles(files: File[] | FileList): Promise<void>;
  /** Unmounts (the container is left empty), aborts requests and removes every listener; a new instance can mount in the same container. */
  destroy(): void;
}

/** Signs Aura API requests with AURA-HMAC-SHA256. Backend only: the secret must never reach a browser. */
export declare class HmacSigner {
  /** Throws `appId is required` / `appSecret is required`. */
  constructor(appId: string, appSecret: string);
  /** Adds X-Aura-Timestamp, X-Aura-Nonce, Authorization (and Content-Type for a body) to `config.headers`; resolves to `config`. */
  sign<T extends SignableRequest>(config: T, options?: SignOptions): Promise<T & { headers: Record<string, string> }>;
  /** The credentials this signer uses. */
  readonly credentials: HmacCredentials;
}

/** A new {@link HmacSigner}. */
export declare function createSigner(appId: string, appSecret: string): HmacSigner;

/** HMAC-SHA256 of `data` (UTF-8) with `key` (a string, UTF-8, or bytes), as lowercase hex. */
export declare function hmacSha256(key: string | ArrayBuffer, data: string): Promise<string>;

/** SHA-256 of `data` (UTF-8), as lowercase hex. */
export declare function sha256(data: string): Promise<string>;

/** A fresh UUID v4 (the nonce of a signature). */
export declare function generateNonce(): string;

/** `"AURA-HMAC-SHA256"` */
export declare const ALGORITHM: "AURA-HMAC-SHA256";
/** `"aura_request"` */
export declare const SERVICE: "aura_request";
/** The headers every signature covers. */
export declare const REQUIRED_HEADERS: readonly ["host", "x-aura-nonce", "x-aura-timestamp"];

/** auraloader: resolves once the WebAssembly module is loaded. */
export declare function ready(): Promise<void>;

export default StandaloneAuraloader;
