#if canImport(Glibc)
import Glibc
#endif
import SystemPackage
import VFIOCore

/// Runs a measurement on a thread of its own and waits for it, as cyclictest measures on a timer thread while its
/// main thread waits elsewhere. A fresh thread matters under CFS/EEVDF: a task carries its lag (the CPU time it got
/// beyond its fair share) across sleeps, so a thread that just spent tens of milliseconds starting the program and
/// reading /proc would begin measuring in debt and be woken late until it paid it back. A new thread starts even.
/// The calling thread sleeps in `pthread_join` meanwhile and never wakes on the measured CPU.
enum ProbeThread {
    private final class Job: @unchecked Sendable {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    static func run<T>(_ body: @escaping () -> T) throws(ShieldError) -> T {
        // Written by the thread, read only after pthread_join, which orders the two.
        nonisolated(unsafe) var result: T?
        let job = Job { result = body() }
        let arg = Unmanaged.passRetained(job).toOpaque()
        var thread = pthread_t()
        let e = pthread_create(&thread, nil, { raw in
            // SAFETY: `raw` is the Job retained below for this thread; it is released exactly once, here.
            guard let raw else { return nil }
            Unmanaged<Job>.fromOpaque(raw).takeRetainedValue().body()
            return nil
        }, arg)
        guard e == 0 else {
            Unmanaged<Job>.fromOpaque(arg).release()
            throw ShieldError("cannot start the measuring thread: pthread_create: \(Errno(rawValue: e))")
        }
        pthread_join(thread, nil)
        guard let result else { throw ShieldError("the measuring thread ended without a result") }
        return result
    }
}
