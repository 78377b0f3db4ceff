import Access
import FHIRCore
import Hummingbird
import WebApp

extension DocumentationPages {
    /// The journal, notes, attention signals, problems and diagnoses, and the note templates.
    func register(on signed: RouterGroup<SignedInContext<Context>>) {
        // Type-ahead for a code field: the server searches the whole code system (ICD-10-SE has some 40,000 codes).
        signed.get("terminologi/:list") { request, context in
            try await context.page { _ in try lookup(list: try context.parameters.require("list"), text: Self.query(request)["q"] ?? "") }
        }
        signed.get("admin/mallar") { request, context in
            try await context.page { user in try await templatesPage(user, notice: Self.query(request)["klar"]) }
        }
        signed.post("admin/mallar") { request, context in try await context.page { user in try await saveTemplates(user) } }
        signed.get("patienter/:id/journal") { request, context in
            try await context.page { user in try await journal(patientID: try context.parameters.require("id"), request: request, user: user) }
        }
        signed.get("patienter/:id/anteckning/ny") { request, context in
            try await context.page { user in try await noteForm(patientID: try context.parameters.require("id"), request: request, user: user) }
        }
        signed.post("patienter/:id/anteckning") { request, context in
            try await context.page { user in try await writeNote(patientID: try context.parameters.require("id"), request: request, user: user) }
        }
        signed.get("anteckningar/:id") { request, context in
            try await context.page { user in try await notePage(noteID: try context.parameters.require("id"), user: user) }
        }
        signed.post("anteckningar/:id/ratta") { request, context in
            try await context.page { user in try await changeNote(.correct, noteID: try context.parameters.require("id"), user: user) }
        }
        signed.post("anteckningar/:id/makulera") { request, context in
            try await context.page { user in try await changeNote(.enteredInError, noteID: try context.parameters.require("id"), user: user) }
        }
        signed.post("anteckningar/:id/signera") { request, context in
            try await context.page { user in try await signNote(noteID: try context.parameters.require("id"), user: user) }
        }
        signed.get("patienter/:id/signaler") { request, context in
            try await context.page { user in
                try await clinicalPage(patientID: try context.parameters.require("id"), user, notice: Self.query(request)["klar"])
            }
        }
        signed.post("patienter/:id/allergi") { request, context in
            try await context.page { user in try await addAllergy(patientID: try context.parameters.require("id"), user) }
        }
        signed.post("patienter/:id/signal") { request, context in
            try await context.page { user in try await addSignal(patientID: try context.parameters.require("id"), user) }
        }
        signed.post("patienter/:id/signaler/:type/:signal/avsluta") { request, context in
            try await context.page { user in
                try await endSignal(patientID: try context.parameters.require("id"), type: try context.parameters.require("type"),
                                    id: try context.parameters.require("signal"), user)
            }
        }
        signed.post("patienter/:id/problem") { request, context in
            try await context.page { user in try await addProblem(patientID: try context.parameters.require("id"), user) }
        }
        signed.post("patienter/:id/problem/:condition/avsluta") { request, context in
            try await context.page { user in
                try await resolveProblem(patientID: try context.parameters.require("id"), conditionID: try context.parameters.require("condition"), user)
            }
        }
        signed.post("patienter/:id/diagnoser") { request, context in
            try await context.page { user in try await registerDiagnoses(patientID: try context.parameters.require("id"), user) }
        }
    }
}
