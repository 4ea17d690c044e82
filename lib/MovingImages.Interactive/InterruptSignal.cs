using System.Runtime.InteropServices;

namespace MovingImages.Interactive;

/// <summary>
/// Jupyter's interrupt, as the launcher of our kernelspec relays it. Jupyter interrupts a kernel by sending SIGINT to
/// its process group, and .NET Interactive's host stops on SIGINT (the kernel — with the loaded networks and the trained
/// model — is gone). Our launcher (<c>movingimages notebook kernelspec</c>) starts the kernel with SIGINT ignored, turns
/// each SIGINT into the signal named by <see cref="Variable"/> and sets that variable; this class takes that signal as
/// <see cref="Cell.Interrupt"/>. Without the variable (VS Code, our runner, a kernelspec of someone else's) it listens to nothing.
/// </summary>
static class InterruptSignal
{
    /// <summary>The environment variable that names the relayed signal (<c>SIGWINCH</c>: ignored by default, so an
    /// interrupt before this library is loaded harms nothing).</summary>
    public const string Variable = "MOVINGIMAGES_INTERRUPT_SIGNAL";

    static PosixSignalRegistration? _registration;

    /// <summary>Starts listening (once per process) when <see cref="Variable"/> names a signal.</summary>
    public static void Listen()
    {
        if (_registration != null || OperatingSystem.IsWindows()) return;
        string? name = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(name)) return;
        if (!Enum.TryParse<PosixSignal>(name, ignoreCase: true, out var signal) || !Enum.IsDefined(signal))
        {
            Console.Error.WriteLine($"{Variable}={name} is not a signal .NET can listen to (e.g. SIGWINCH); interrupts will not stop cells.");
            return;
        }
        _registration = PosixSignalRegistration.Create(signal, context =>
        {
            context.Cancel = true;
            Cell.Interrupt();
        });
    }
}
