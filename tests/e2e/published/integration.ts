// An integration written against the published @aurabx/standalone-uploader
// 1.0.x only: its module names, its type names and its fields, as
// docs/spec/API.md ("The widget's JavaScript surface") lists them. It is
// compiled under `strict` against auraloader's dist/npm (installed under the
// published name, as the README shows) and run in headless Chromium through
// a whole upload by tests/e2e/published.test.mjs. Nothing here may use a
// name or field that only auraloader has.
import StandaloneAuraloader, {
  ALGORITHM,
  HmacSigner,
  REQUIRED_HEADERS,
  SERVICE,
  StandaloneAuraloader as NamedAuraloader,
  createSigner,
  generateNonce,
  hmacSha256,
  sha256,
  type AuraloaderCallbacks,
  type AuraloaderConfig,
  type AuraloaderError,
  type AuthorizationComponents,
  type DicomMetadata,
  type DicomTagMap,
  type HmacCredentials,
  type HmacSignerConfig,
  type SeriesInfo,
  type SignableRequest,
  type SignedRequestHeaders,
  type StudyInfo,
  type UploadInitRequest,
  type UploadInitResponse,
  type UploadLifecycleRequest,
  type UploadResult,
  type UploaderConfigResponse,
  type UploaderState,
  type UploaderStep,
} from "@aurabx/standalone-uploader";

/** What the test reads back from the page. */
export interface Report {
  vector: { payload: string; signature: string };
  constants: { algorithm: string; service: string; required: string[] };
  nonce: string;
  sameClass: boolean;
  steps: UploaderStep[];
  states: UploaderState[];
  found: number;
  result: { successful: number; failed: number; uploadId: string; ids: string[] } | null;
  errors: Array<{ context: string; message: string; statusCode?: number }>;
  signed: SignedRequestHeaders | null;
  credentials: HmacCredentials | null;
}

// Values of every published type, written as a partner's own code or tests
// would write them: they must type-check against auraloader's declarations.
const initialState: UploaderState = {
  step: "start",
  totalFiles: 0,
  studiesCount: 0,
  seriesCount: 0,
  studies: [],
  complete: false,
  studyId: "",
  zipping: false,
  errorMessage: "",
  connectionIssues: false,
};
const someStudy: StudyInfo = {
  study_uid: "1.2.3",
  patient_name: "Test^Patient",
  patient_id: "P1",
  study_date: "20240101",
  study_time: "101500",
  study_description: "CT",
  institution_name: "",
  modalities: ["CT"],
  series_count: 1,
  images: 1,
};
const someSeries: SeriesInfo = { series_uid: "1.2.3.4", series_description: "AX", modality: "CT", images: 1 };
const someError: AuraloaderError = { context: "upload", message: "Upload failed" };
const someResult: UploadResult = { uploadId: "u", studies: [{ id: "s" }], successful: 1, failed: 0 };
const configAnswer: UploaderConfigResponse = { lift: { endpoint: "https://t/files/", token: "t", bucket: "b" }, mode: "bulk" };
const initBody: UploadInitRequest = {
  upload_id: "u",
  studies: { [someStudy.study_uid]: someStudy },
  mode: "uploader",
  source: "standalone-uploader",
  context: { referral_id: "r" },
};
const initAnswer: UploadInitResponse = { studies: [{ id: "s" }] };
const lifecycle: UploadLifecycleRequest = { upload_id: "u", assembly_id: "a", mode: "uploader" };
const metadata: DicomMetadata = {
  studyInstanceUID: "1", seriesInstanceUID: "2", sopInstanceUID: "3", patientName: "", patientId: "",
  studyDate: "", studyTime: "", studyDescription: "", seriesDescription: "", modality: "CT", institutionName: "",
};
const tags: DicomTagMap = { x00100010: { tag: "x00100010", name: "Patient Name" } };
const parts: AuthorizationComponents = { algorithm: ALGORITHM, credential: "id", signedHeaders: "host", signature: "00" };
const signerConfig: HmacSignerConfig = { credentials: { appId: "id", appSecret: "s" }, additionalSignedHeaders: [] };
void [initialState, someSeries, someError, someResult, configAnswer, initBody, initAnswer, lifecycle, metadata, tags, parts, signerConfig];

const toBytes = (hex: string): ArrayBuffer =>
  new Uint8Array((hex.match(/../g) ?? []).map((h) => parseInt(h, 16))).buffer;

/** The spec's signature (docs/spec/HMAC.md), step by step with the published helpers. */
async function specVector(): Promise<{ payload: string; signature: string }> {
  const payload = await sha256('{"ttl":3600,"scopes":["upload:init","upload:manage"]}');
  const nonce = "550e8400-e29b-41d4-a716-446655440000";
  const canonical = [
    "POST",
    "/api/auth/exchange",
    "",
    `content-type:application/json\nhost:aura.example.com\nx-aura-nonce:${nonce}\nx-aura-timestamp:1706140800\n`,
    "content-type;host;x-aura-nonce;x-aura-timestamp",
    payload,
  ].join("\n");
  const toSign = [ALGORITHM, "1706140800", `test-app-id/20240125/${SERVICE}`, await sha256(canonical)].join("\n");
  const dateKey = await hmacSha256("AURAtest-secret-key", "20240125");
  const signingKey = await hmacSha256(toBytes(dateKey), SERVICE);
  return { payload, signature: await hmacSha256(toBytes(signingKey), toSign) };
}

/** Runs the integration: mounts in `containerId`, uploads what the user drops. */
export async function run(options: { apiBaseUrl: string; apiToken: string; uploadToken: string; containerId: string }): Promise<Report> {
  const report: Report = {
    vector: await specVector(),
    constants: { algorithm: ALGORITHM, service: SERVICE, required: [...REQUIRED_HEADERS] },
    nonce: generateNonce(),
    sameClass: StandaloneAuraloader === NamedAuraloader,
    steps: [],
    states: [],
    found: 0,
    result: null,
    errors: [],
    signed: null,
    credentials: null,
  };
  const signer: HmacSigner = createSigner("test-app-id", "test-secret-key");
  const request: SignableRequest = { method: "GET", url: "/uploader/config", baseURL: options.apiBaseUrl, params: { page: 1 } };
  await signer.sign(request);
  const headers = request.headers ?? {};
  report.signed = {
    Authorization: headers["Authorization"] ?? "",
    "X-Aura-Timestamp": headers["X-Aura-Timestamp"] ?? "",
    "X-Aura-Nonce": headers["X-Aura-Nonce"] ?? "",
  };
  report.credentials = signer.credentials;

  let uploader: StandaloneAuraloader | null = null;
  let started = false;
  const callbacks: AuraloaderCallbacks = {
    onStateChange: (state: UploaderState) => {
      report.states.push(state);
      if (report.steps[report.steps.length - 1] !== state.step) report.steps.push(state.step);
      if (state.step === "pending" && state.totalFiles > 0 && uploader && !started) {
        started = true;
        uploader.upload().catch((error: AuraloaderError) => {
          report.errors.push({ context: error.context, message: error.message });
        });
      }
    },
    onStudiesFound: (studies: StudyInfo[]) => {
      report.found = studies.length;
    },
    onUploadComplete: (result: UploadResult) => {
      report.result = {
        successful: result.successful,
        failed: result.failed,
        uploadId: result.uploadId,
        ids: result.studies.map((s) => s.id),
      };
    },
    onUploadError: (error: AuraloaderError) => {
      report.errors.push({ context: error.context, message: error.message, statusCode: error.statusCode });
    },
    onUploadCancel: () => {},
  };
  const config: AuraloaderConfig = {
    apiToken: options.apiToken,
    apiBaseUrl: options.apiBaseUrl,
    uploadToken: options.uploadToken,
    containerId: options.containerId,
    patientId: "PAT-1",
    context: { referral_id: "REF-1" },
    callbacks,
  };
  uploader = new StandaloneAuraloader(config);
  await uploader.init();
  await uploader.mount();
  return report;
}
