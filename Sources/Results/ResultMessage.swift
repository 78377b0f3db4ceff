import FHIRCore
import Foundation
import HL7v2

/// An ORU^R01 read into its results: per OBR the patient, the order numbers, the analyses (OBX) and the
/// comments (NTE), with each value decoded exactly as the lab wrote it. Problems are AE answers naming the
/// segment and field.
struct ResultMessage {
    let message: HL7Message
    let channel: LabChannel
    let encoding: String.Encoding

    /// A problem with the message, for the ERR segment.
    struct Problem: Error {
        var problem: HL7Acknowledgement.Problem
    }

    /// One analysis (OBX).
    struct Analysis {
        var sequence: Int
        var valueType: String
        /// The lab's code (OBX-3.1), its text and coding system; the NPU code when there is one.
        var localCode: String
        var text: String
        var npu: String?
        var subID: String
        /// OBX-5 decoded: for text types each repetition a line.
        var value: String
        var unit: String
        var range: String
        var flags: [String]
        var status: String
        var observed: String?
        var notes: [String] = []
    }

    /// One result (OBR with its OBX and NTE).
    struct Result {
        var controlID: String
        var patientIdentifiers: [String] = []
        var patientName: String = ""
        var placer: String
        var filler: String
        var serviceCode: String
        var serviceText: String
        var serviceNPU: String?
        var section: String
        var status: String
        var observed: String?
        var reported: String?
        var notes: [String] = []
        var analyses: [Analysis] = []
        var obrSequence: Int
    }

    static let observationStatus = ["P": "preliminary", "F": "final", "C": "corrected", "X": "cancelled", "R": "registered", "I": "registered",
                                    "D": "entered-in-error", "W": "entered-in-error"]
    static let textTypes: Set<String> = ["TX", "FT", "ST"]
    static let valueTypes: Set<String> = ["NM", "SN", "TX", "FT", "ST", "CE", "CWE"]

    func text(_ raw: String) -> String { message.text(raw, decoding: encoding) }

    func component(_ raw: String, _ n: Int) -> String {
        let parts = message.components(message.repetitions(raw).first ?? "")
        return n - 1 < parts.count ? text(parts[n - 1]) : ""
    }

    func results() throws(Problem) -> [Result] {
        var results: [Result] = []
        var pid: HL7Message.Segment?
        var orc: HL7Message.Segment?
        var obxCount = 0
        var obrCount = 0
        var lastWasOBX = false
        for segment in message.segments {
            switch segment.name {
            case "PID":
                pid = segment
                orc = nil
            case "ORC":
                orc = segment
            case "OBR":
                obrCount += 1
                let placer = component(orc?[2] ?? "", 1).isEmpty ? component(segment[2], 1) : component(orc![2], 1)
                let filler = component(orc?[3] ?? "", 1).isEmpty ? component(segment[3], 1) : component(orc![3], 1)
                let code = component(segment[4], 1)
                guard !code.isEmpty else {
                    throw Problem(problem: .init(segment: "OBR", sequence: obrCount, field: 4, code: "101", text: "OBR-4 (the analysis or examination ordered) is empty"))
                }
                var result = Result(controlID: message.controlID, placer: placer, filler: filler, serviceCode: code, serviceText: component(segment[4], 2),
                                    serviceNPU: npu(segment[4]), section: component(segment[24], 1).isEmpty ? (channel.orders?.kind == "bild" ? "RAD" : "LAB") : component(segment[24], 1),
                                    status: component(segment[25], 1), observed: HL7Acknowledgement.fhirDateTime(component(segment[7], 1)),
                                    reported: HL7Acknowledgement.fhirDateTime(component(segment[22], 1)), obrSequence: obrCount)
                if let pid {
                    result.patientIdentifiers = message.repetitions(pid[3]).map { message.components($0).first.map(text) ?? "" }.filter { !$0.isEmpty }
                    result.patientName = [component(pid[5], 2), component(pid[5], 1)].filter { !$0.isEmpty }.joined(separator: " ")
                }
                results.append(result)
                lastWasOBX = false
            case "OBX":
                obxCount += 1
                guard !results.isEmpty else {
                    throw Problem(problem: .init(segment: "OBX", sequence: obxCount, code: "100", text: "an OBX came before any OBR"))
                }
                results[results.count - 1].analyses.append(try analysis(segment, sequence: obxCount))
                lastWasOBX = true
            case "NTE":
                // A comment belongs to the OBX before it, or to the OBR when none came yet. Each repetition is a line.
                let lines = message.repetitions(segment[3]).map(text).joined(separator: "\n")
                guard !results.isEmpty else { continue }
                if lastWasOBX {
                    let last = results[results.count - 1].analyses.count - 1
                    results[results.count - 1].analyses[last].notes.append(lines)
                } else {
                    results[results.count - 1].notes.append(lines)
                }
            default:
                continue
            }
        }
        guard !results.isEmpty else {
            throw Problem(problem: .init(segment: "OBR", code: "100", text: "the ORU^R01 holds no OBR: no result to store"))
        }
        return results
    }

    /// The NPU code a CE/CWE field carries, as its code (system NPU) or its alternate code, or by the channel's table.
    func npu(_ raw: String) -> String? {
        let code = component(raw, 1), system = component(raw, 3), alternate = component(raw, 4), alternateSystem = component(raw, 6)
        if system.uppercased() == "NPU" || (system.isEmpty && code.hasPrefix("NPU")) { return code }
        if alternateSystem.uppercased() == "NPU" || alternate.hasPrefix("NPU") { return alternate.isEmpty ? nil : alternate }
        return channel.codes[code]
    }

    func analysis(_ segment: HL7Message.Segment, sequence: Int) throws(Problem) -> Analysis {
        let type = component(segment[2], 1).uppercased()
        guard Self.valueTypes.contains(type) else {
            throw Problem(problem: .init(segment: "OBX", sequence: sequence, field: 2, code: "102",
                                         text: "OBX-2 is '\(type)'; Kärna reads the value types \(Self.valueTypes.sorted().joined(separator: ", "))"))
        }
        let code = component(segment[3], 1)
        guard !code.isEmpty else {
            throw Problem(problem: .init(segment: "OBX", sequence: sequence, field: 3, code: "101", text: "OBX-3 (the analysis) is empty"))
        }
        let statusLetter = component(segment[11], 1).uppercased()
        guard let status = Self.observationStatus[statusLetter] else {
            throw Problem(problem: .init(segment: "OBX", sequence: sequence, field: 11, code: "103",
                                         text: "OBX-11 is '\(statusLetter)'; Kärna reads \(Self.observationStatus.keys.sorted().joined(separator: ", ")) (HL7 table 0085)"))
        }
        let repetitions = message.repetitions(segment[5])
        let value: String
        if Self.textTypes.contains(type) {
            // Report text is kept exactly: each repetition a line, escapes decoded, nothing trimmed.
            value = repetitions.map(text).joined(separator: "\n")
            if ["final", "corrected"].contains(status), value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                throw Problem(problem: .init(segment: "OBX", sequence: sequence, field: 5, code: "101",
                                             text: "OBX-5 is empty in a final report (OBX-11 \(statusLetter)): a final report must have its text"))
            }
        } else if type == "NM" {
            value = text(repetitions.first ?? "").trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ",", with: ".")
            if !value.isEmpty, Double(value) == nil || value.contains(where: { !("0123456789.-+".contains($0)) }) {
                throw Problem(problem: .init(segment: "OBX", sequence: sequence, field: 5, code: "102",
                                             text: "OBX-5 is '\(value)', not a number, though OBX-2 says NM"))
            }
        } else {
            value = repetitions.first ?? ""
        }
        let flags = message.repetitions(segment[8]).map(text).filter { !$0.isEmpty }
        return Analysis(sequence: sequence, valueType: type, localCode: code, text: component(segment[3], 2), npu: npu(segment[3]),
                        subID: text(segment[4]), value: value, unit: component(segment[6], 1), range: text(segment[7]), flags: flags,
                        status: status, observed: HL7Acknowledgement.fhirDateTime(component(segment[14], 1)))
    }
}
