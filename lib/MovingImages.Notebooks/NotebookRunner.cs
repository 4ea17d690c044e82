using System.Diagnostics;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Events;

namespace MovingImages.Notebooks;

/// <summary>Options of a notebook run.</summary>
/// <param name="Parameters">Values that override the parameters cell (papermill's <c>-p name=value</c>).</param>
/// <param name="CellTimeout">Longest a single cell may run (null: no limit).</param>
/// <param name="IgnoreUnknownParameters">Skip (and log) parameters this notebook does not declare, instead of failing
/// (for running a folder of notebooks with one set of values).</param>
public sealed record NotebookRunOptions(IReadOnlyDictionary<string, string>? Parameters = null, TimeSpan? CellTimeout = null,
    bool IgnoreUnknownParameters = false);

/// <summary>What a notebook run did.</summary>
/// <param name="Succeeded">Whether every cell ran without error.</param>
/// <param name="FailedCell">1-based number of the failing cell in the executed notebook, if any.</param>
/// <param name="Summary">One line: what happened.</param>
/// <param name="CellTimes">Seconds per executed code cell, in order (cell number, seconds).</param>
public sealed record NotebookRunResult(bool Succeeded, int? FailedCell, string Summary, IReadOnlyList<(int Cell, double Seconds)> CellTimes);

/// <summary>
/// Runs a <c>.ipynb</c> top to bottom on the .NET Interactive C# kernel (<see cref="NotebookKernel"/>), in this process:
/// markdown is kept, code cells run in order, the kernel's events become the cells' outputs (a display updated in place
/// keeps its last value), <c>-p</c> values go into a new cell tagged <c>injected-parameters</c> after the cell tagged
/// <c>parameters</c> (papermill's convention), the run stops at the first failing cell, and the executed notebook is
/// written atomically after every cell — so a process that dies keeps everything before the cell that killed it.
/// </summary>
/// <remarks>Relative paths in the cells resolve against the current directory, as in a kernel Jupyter starts in the
/// notebook's folder: <c>movingimages notebook run</c> runs each notebook in a process started there.</remarks>
public static class NotebookRunner
{
    /// <summary>Runs <paramref name="path"/> and writes the executed notebook to <paramref name="output"/>.</summary>
    /// <param name="path">The notebook.</param>
    /// <param name="output">Where the executed notebook goes (must not be <paramref name="path"/>).</param>
    /// <param name="options">Parameters and timeout.</param>
    /// <param name="log">One progress line per cell ("cell 3/12 · …").</param>
    /// <param name="cancellationToken">Cancels the running cell (its outputs so far are kept) and stops.</param>
    public static async Task<NotebookRunResult> RunAsync(string path, string output, NotebookRunOptions? options = null, TextWriter? log = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new NotebookRunOptions();
        if (Path.GetFullPath(path) == Path.GetFullPath(output))
            throw new ArgumentException($"{path}: the executed notebook would overwrite its source; write it elsewhere (--out)");
        var document = NotebookDocument.Load(path);
        string name = Path.GetFileName(path);
        var times = new List<(int, double)>();

        // Parameters first, so the cell count is known before the first cell runs.
        try { InjectParameters(document, options.Parameters, options.IgnoreUnknownParameters, name, log); }
        catch (ArgumentException e) { return Fail(document, output, null, e.Message, times, log); }
        var elements = document.Elements;
        foreach (var element in elements.Where(NotebookDocument.IsCode))
        {
            element.Outputs.Clear();
            element.ExecutionOrder = 0;
        }

        using var kernel = NotebookKernel.Create();
        var code = elements.Where(NotebookDocument.IsCode).ToList();
        int executionCount = 0;
        for (int k = 0; k < code.Count; k++)
        {
            var cell = code[k];
            int number = elements.IndexOf(cell) + 1;
            log?.Write($"cell {k + 1}/{code.Count} · {NotebookDocument.Describe(cell)} … ");
            var sw = Stopwatch.StartNew();
            using var heartbeat = new Timer(_ => log?.Write($"({sw.Elapsed.TotalSeconds:0} s) "), null, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30));
            var outcome = await ExecuteAsync(kernel, cell, document, output, options.CellTimeout, cancellationToken);
            heartbeat.Dispose();
            cell.ExecutionOrder = ++executionCount;
            times.Add((number, sw.Elapsed.TotalSeconds));
            if (outcome is { } error)
            {
                log?.WriteLine("FAILED");
                return Fail(document, output, number, $"{name}: cell {number} failed: {error}", times, log);
            }
            NotebookDocument.Save(document, output);
            log?.WriteLine($"{sw.Elapsed.TotalSeconds:0.0} s");
        }
        if (code.Count == 0) NotebookDocument.Save(document, output);
        return new NotebookRunResult(true, null, $"{name}: {times.Count} cells ran in {times.Sum(t => t.Item2):0.0} s", times);
    }

    /// <summary>
    /// Puts <paramref name="parameters"/> into <paramref name="document"/> as papermill does: a cell tagged
    /// <c>injected-parameters</c> after the cell tagged <c>parameters</c> (replacing an earlier run's), with each value a
    /// literal of the type the parameters cell gave it. Throws <see cref="ArgumentException"/> naming the notebook for an
    /// unknown name (listing the parameters), a bad value, or a notebook without a parameters cell.
    /// </summary>
    public static void InjectParameters(InteractiveDocument document, IReadOnlyDictionary<string, string>? parameters, bool ignoreUnknown, string name, TextWriter? log = null)
    {
        var elements = document.Elements;
        var values = new Dictionary<string, string>(parameters ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        if (values.Count == 0) return;
        int parametersAt = elements.ToList().FindIndex(e => NotebookDocument.IsCode(e) && NotebookDocument.Tags(e).Contains("parameters"));
        if (parametersAt < 0)
        {
            if (ignoreUnknown) return;
            throw new ArgumentException($"{name} has no cell tagged 'parameters', so -p {string.Join(", ", values.Keys)} cannot be applied");
        }
        var declared = NotebookParameters.Declared(elements[parametersAt].Contents);
        if (ignoreUnknown)
            foreach (var unknown in values.Keys.Where(k => !declared.ContainsKey(k)).ToArray())
            {
                log?.WriteLine($"-p {unknown}: not a parameter of {name}; skipped");
                values.Remove(unknown);
            }
        if (parametersAt + 1 < elements.Count && NotebookDocument.Tags(elements[parametersAt + 1]).Contains("injected-parameters"))
            elements.RemoveAt(parametersAt + 1); // papermill replaces an earlier run's injected cell
        if (values.Count == 0) return;
        string injection;
        try { injection = NotebookParameters.Injection(declared, values); }
        catch (ArgumentException e) { throw new ArgumentException($"{name}: {e.Message}", e); }
        elements.Insert(parametersAt + 1, NotebookDocument.CodeCell(injection, elements[parametersAt].KernelName ?? "csharp", "injected-parameters"));
    }

    /// <summary>Runs one cell; fills its outputs; returns null, or the error's one-line message.</summary>
    static async Task<string?> ExecuteAsync(CompositeKernel kernel, InteractiveDocumentElement cell, InteractiveDocument document, string output,
        TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var outputs = new CellOutputs(cell, () => NotebookDocument.Save(document, output));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout is { } t) cts.CancelAfter(t);
        CommandFailed? failed = null;
        using (kernel.KernelEvents.Subscribe(new Observer(outputs.Add)))
        {
            try
            {
                var result = await kernel.SendAsync(new SubmitCode(cell.Contents, cell.KernelName ?? "csharp"), cts.Token);
                failed = result.Events.OfType<CommandFailed>().LastOrDefault();
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                // timed out or stopped: the cell's outputs so far are kept
            }
        }
        if (failed is null && !cts.IsCancellationRequested) return null;
        string message = cts.IsCancellationRequested && !cancellationToken.IsCancellationRequested
            ? $"timed out after {timeout!.Value.TotalSeconds:0} s"
            : cancellationToken.IsCancellationRequested ? "cancelled" : failed!.Exception?.Message is { Length: > 0 } m ? m : failed.Message;
        outputs.AddError(failed, message);
        return message.Split('\n')[0];
    }

    static NotebookRunResult Fail(InteractiveDocument document, string output, int? cell, string summary, List<(int, double)> times, TextWriter? log)
    {
        NotebookDocument.Save(document, output);
        log?.WriteLine(summary);
        return new NotebookRunResult(false, cell, summary, times);
    }

    sealed class Observer(Action<KernelEvent> onNext) : IObserver<KernelEvent>
    {
        public void OnCompleted() { }
        public void OnError(Exception error) { }
        public void OnNext(KernelEvent value) => onNext(value);
    }
}
