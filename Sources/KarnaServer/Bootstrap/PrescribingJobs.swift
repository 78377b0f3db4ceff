import Access
import FHIRCore
import Foundation
import Logging
import FHIRAPI
import Medication
import NLLClient
import ServiceLifecycle
import StoreModel

extension KarnaConfiguration {
    /// Prescribing's settings: the NLL client when an address is set, the token read from its file.
    func prescribingSettings() throws -> PrescribingSettings {
        var token = ""
        if let path = nllTokenPath {
            guard let data = FileManager.default.contents(atPath: path) else { throw Error(description: "KARNA_NLL_TOKEN_FILE: cannot read \(path)") }
            token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        } else if nllURL != nil {
            // The simulator takes any token; a real NLL refuses this one, and the refusal names the setting.
            token = "kärna-utan-nll-token"
        }
        var exchange: TokenExchange?
        if nllAuthorization == "exchange", let url = nllTokenExchangeURL.flatMap(URL.init(string:)), let client = nllTokenExchangeClient,
           let secretPath = nllTokenExchangeSecretPath {
            guard let data = FileManager.default.contents(atPath: secretPath) else {
                throw Error(description: "KARNA_NLL_TOKEN_EXCHANGE_SECRET_FILE: cannot read \(secretPath)")
            }
            exchange = TokenExchange(endpoint: url, audience: nllAudience, clientID: client,
                                     clientSecret: String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines),
                                     timeoutSeconds: Double(nllTimeoutSeconds))
        }
        return PrescribingSettings(nll: nllURL.flatMap(URL.init(string:)).map { NLLClient(baseURL: $0, timeoutSeconds: Double(nllTimeoutSeconds)) },
                                   token: token, userAgent: "Karna/\(KarnaVersion.current)", structuredReasonRequiredFrom: nllReasonRequiredFrom,
                                   unsentAlarmMinutes: nllUnsentAlarmMinutes,
                                   authorization: PrescribingSettings.NLLAuthorization(rawValue: nllAuthorization) ?? .organisation, exchange: exchange)
    }
}

/// Sends the prescriptions NLL does not have yet (the outbox), and logs the unsent ones past the alarm
/// time once each, naming their prescriber: a system job through the gateway.
struct PrescribingJobs: Service {
    let services: KarnaServices
    let logger: Logger

    func run() async throws {
        guard let medication = services.modules.compactMap({ $0 as? Medication }).first else { return }
        let interval = services.configuration.outboxSeconds
        await cancelWhenGracefulShutdown {
            var alarmed: Set<String> = []
            let lease = JobLease(store: services.store, holder: services.configuration.nodeName, pausedBy: services.gateway.readOnly)
            while !Task.isCancelled {
                do {
                    guard try await lease.holds("nll-outbox", seconds: JobLease.seconds(forInterval: interval)) else {
                        try? await Task.sleep(for: .seconds(interval))
                        continue
                    }
                    let session = services.gateway.session(.job("karna-nll-outbox"), action: "nll-outbox")
                    let run = try await medication.prescribing.sendWaiting(session: session)
                    if run.sent > 0 { logger.info("sent \(run.sent) prescriptions to NLL") }
                    for failure in run.failures { logger.warning("prescription not sent to NLL: \(failure)") }
                    // Each overdue prescription is announced once, naming its owner; one sent since leaves the set,
                    // so the set is never larger than the unsent list.
                    let unsent = try await medication.prescribing.unsent(roleID: nil, session: session)
                    Telemetry.outbox("nll", depth: unsent.count, oldestSeconds: Double(unsent.map(\.waitingMinutes).max() ?? 0) * 60)
                    let overdue = unsent.filter(\.overdue)
                    alarmed.formIntersection(overdue.map(\.prescription.id))
                    for item in overdue where !alarmed.contains(item.prescription.id) {
                        alarmed.insert(item.prescription.id)
                        let owner = item.prescription.object["requester"]?.objectValue?["reference"]?.stringValue ?? "no owner"
                        logger.warning("NLL alarm: MedicationRequest/\(item.prescription.id) owned by \(owner) has not been sent for \(item.waitingMinutes) minutes")
                    }
                } catch {
                    logger.error("the NLL outbox failed: \(error)")
                }
                try? await Task.sleep(for: .seconds(interval))
            }
        }
    }
}
