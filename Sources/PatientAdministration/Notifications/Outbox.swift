import Access
import FHIRCore
import Foundation
import Logging
import StoreModel

/// Notifications to patients (booking, change, cancellation, reminder) go through an outbox:
/// a Communication with status `preparation`, written in the same commit as the booking, so
/// a message is never lost nor sent for a booking that did not happen. A dispatcher sends them.
public enum Outbox {
    public enum Kind: String, Sendable {
        case booking = "bokning", change = "andring", cancellation = "avbokning", reminder = "paminnelse"
    }

    /// A Communication to the patient about an appointment, for the outbox.
    static func message(_ kind: Kind, patientID: String, appointmentID: String, text: String) -> WriteOperation {
        let id = UUID().uuidString.lowercased()
        let communication = JSONObject([
            ("resourceType", .string("Communication")), ("id", .string(id)), ("status", .string("preparation")),
            ("basedOn", .array([FHIR.reference("Appointment", appointmentID)])),
            ("category", .array([FHIR.concept(AdministrationCodes.notificationCategory, kind.rawValue)])),
            ("subject", FHIR.reference("Patient", patientID)),
            ("recipient", .array([FHIR.reference("Patient", patientID)])),
            ("payload", .array([FHIR.object([("contentString", .string(text))])])),
        ])
        return .create(communication, type: "Communication", id: id)
    }

    /// "Tisdag 24 november 2026 kl. 08:20".
    static func when(_ millis: Int64) -> String {
        let day = SwedishTime.day(of: millis)
        let (year, month, date) = CivilCalendar.date(fromDaysSince1970: day)
        let weekdays = ["måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"]
        let months = ["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober", "november", "december"]
        let local = SwedishTime.format(millis)
        let time = local.dropFirst(11).prefix(5)
        return "\(weekdays[SwedishTime.weekday(day) - 1].capitalized) \(date) \(months[month - 1]) \(year) kl. \(time)"
    }
}

/// A message ready to leave: where to and what.
public struct OutgoingMessage: Sendable, Codable {
    public var id: String
    public var kind: String
    public var patient: String
    /// An e-mail address or phone number; nil when the patient has none (the message is then logged only).
    public var address: String?
    public var channel: String
    public var text: String
}

/// Sends patient notifications; a region plugs in its own (SMS gateway, 1177 inbox).
public protocol NotificationSender: Sendable {
    /// Delivers one message or throws; a throw is retried later.
    func send(_ message: OutgoingMessage) async throws
}

/// The default sender: appends each message as a JSON line to a file (and the log), so nothing
/// leaves the machine until a region configures a real channel.
public struct FileNotificationSender: NotificationSender {
    public let path: String

    public init(path: String) { self.path = path }

    public func send(_ message: OutgoingMessage) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let line = try encoder.encode(message) + Data("\n".utf8)
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) {
            FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
    }
}

/// Sends e-mail through an SMTP server with the system's curl (which speaks SMTP, STARTTLS and
/// authentication), for patients with an e-mail address. Written this way because no SMTP client
/// is among the Swift packages this project may use.
public struct SMTPNotificationSender: NotificationSender {
    /// `smtp://host:587` or `smtps://host:465`; credentials, if any, in `KARNA_SMTP_USER`/`KARNA_SMTP_PASSWORD`.
    public let url: String
    public let from: String
    public let credentials: String?

    public init(url: String, from: String, credentials: String?) {
        self.url = url
        self.from = from
        self.credentials = credentials
    }

    public func send(_ message: OutgoingMessage) async throws {
        guard message.channel == "email", let address = message.address else { return }
        let mail = "From: \(from)\r\nTo: \(address)\r\nSubject: =?utf-8?Q?Meddelande_fr=C3=A5n_v=C3=A5rden?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\(message.text)\r\n"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        var arguments = ["--silent", "--show-error", "--ssl-reqd", "--url", url, "--mail-from", from, "--mail-rcpt", address, "--upload-file", "-"]
        if url.hasPrefix("smtp://localhost") || url.hasPrefix("smtp://127.") { arguments.removeAll { $0 == "--ssl-reqd" } }
        if let credentials { arguments += ["--user", credentials] }
        process.arguments = arguments
        let input = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(mail.utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let detail = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw FHIRError(.internalError, code: .exception, "SMTP delivery failed (curl \(process.terminationStatus)): \(detail)")
        }
    }
}

/// Sends what waits in the outbox and queues reminders; run periodically by the server.
public struct OutboxDispatcher: Sendable {
    let sender: any NotificationSender
    let settings: AdministrationSettings
    let logger: Logger
    /// After this many failed attempts a message is given up (status not-done) and logged.
    public var maximumAttempts = 5

    public init(sender: any NotificationSender, settings: AdministrationSettings, logger: Logger) {
        self.sender = sender
        self.settings = settings
        self.logger = logger
    }

    /// Queues reminders for appointments within the reminder window, then sends every waiting message.
    /// Returns how many were sent. `session` is a system session.
    @discardableResult
    public func runOnce(session: PatientDataSession) async throws -> Int {
        try await queueReminders(session: session)
        let records = Records(session: session)
        let waiting = try await records.search("Communication", [("status", "preparation"), ("category", "\(AdministrationCodes.notificationCategory)|")], limit: 200)
        var sent = 0
        for stored in waiting {
            var communication = stored.object.forUpdate
            guard let patientID = communication.referenceID("subject", type: "Patient") else { continue }
            let patient = try await records.optional("Patient", patientID)?.object
            let telecom = (patient?["telecom"]?.arrayValue ?? []).compactMap(\.objectValue)
            let email = telecom.first { $0["system"]?.stringValue == "email" }?["value"]?.stringValue
            let sms = telecom.first { $0["system"]?.stringValue == "sms" || ($0["system"]?.stringValue == "phone" && $0["use"]?.stringValue == "mobile") }?["value"]?.stringValue
            let message = OutgoingMessage(id: stored.id, kind: communication.code("category", system: AdministrationCodes.notificationCategory) ?? "",
                                          patient: patientID, address: email ?? sms, channel: email != nil ? "email" : (sms != nil ? "sms" : "none"),
                                          text: communication["payload"]?.arrayValue?.first?.objectValue?["contentString"]?.stringValue ?? "")
            do {
                try await sender.send(message)
                communication["status"] = .string("completed")
                communication["sent"] = .string(Instant.format(milliseconds: Instant.now()))
                sent += 1
            } catch {
                let attempts = Int(communication.extensionValue(AdministrationCodes.deliveryAttempts)?.numberText ?? "0").map { $0 + 1 } ?? 1
                communication.setExtension(AdministrationCodes.deliveryAttempts, "valueInteger", .number(String(attempts)))
                logger.warning("notification Communication/\(stored.id) failed (attempt \(attempts)): \(error)")
                if attempts >= maximumAttempts {
                    communication["status"] = .string("not-done")
                    communication["statusReason"] = FHIR.text("delivery failed \(attempts) times")
                }
            }
            _ = try await session.commit(.update(communication, type: "Communication", id: stored.id, ifMatch: stored.versionId))
        }
        return sent
    }

    /// What still waits after a run: how many messages, and the oldest one's time of queueing (for `/metrics`).
    public func backlog(session: PatientDataSession) async throws -> (count: Int, oldest: Int64?) {
        let waiting = try await Records(session: session).search("Communication", [("status", "preparation"), ("category", "\(AdministrationCodes.notificationCategory)|"),
                                                                              ("_sort", "_lastUpdated")], limit: 200)
        return (waiting.count, waiting.map(\.lastUpdated).min())
    }

    /// One reminder per booked appointment starting within the reminder window.
    func queueReminders(session: PatientDataSession) async throws {
        let records = Records(session: session)
        let now = Instant.now()
        let horizon = now + Int64(settings.reminderHours) * 3_600_000
        let upcoming = try await records.search("Appointment", [("status", "booked"), ("date", "ge" + Instant.format(milliseconds: now)),
                                                                 ("date", "le" + Instant.format(milliseconds: horizon))], limit: 500)
        var operations: [WriteOperation] = []
        for appointment in upcoming {
            let object = appointment.object
            guard let patientID = (object["participant"]?.arrayValue ?? []).compactMap({ $0.objectValue?.referenceID("actor", type: "Patient") }).first,
                  let start = object["start"]?.stringValue.flatMap(Instant.parse) else { continue }
            let existing = try await records.search("Communication", [("based-on", "Appointment/\(appointment.id)"),
                                                                       ("category", "\(AdministrationCodes.notificationCategory)|\(Outbox.Kind.reminder.rawValue)")], limit: 1)
            guard existing.isEmpty else { continue }
            operations.append(Outbox.message(.reminder, patientID: patientID, appointmentID: appointment.id,
                                             text: "Påminnelse: du har en bokad tid \(Outbox.when(start)). Välkommen!"))
        }
        if !operations.isEmpty { _ = try await session.commit(operations) }
    }
}
