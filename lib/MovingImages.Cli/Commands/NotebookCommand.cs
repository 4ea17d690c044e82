using System.CommandLine;
using MovingImages.Notebooks;

namespace MovingImages.Cli.Commands;

/// <summary><c>movingimages notebook run &lt;ipynb|folder&gt; [-p k=v …] [--out DIR] [--timeout S]</c>: execute C# notebooks headless.</summary>
internal static class NotebookCommand
{
    public static Command Create(CliIO io)
    {
        var command = new Command("notebook", "Execute the C# notebooks (.NET Interactive format) without Jupyter or Polyglot.");
        var input = new Argument<string>("notebook") { Description = "an .ipynb file, or a folder of them" };
        var parameters = new Option<string[]>("--parameter", "-p") { Description = "override a value of the cell tagged 'parameters': -p name=value (repeatable)" };
        var output = new Option<string>("--out") { Description = "folder for the executed notebooks", DefaultValueFactory = _ => Path.Combine("out", "notebooks") };
        var timeout = new Option<double>("--timeout") { Description = "seconds a single cell may run", DefaultValueFactory = _ => 1800 };
        var run = new Command("run", "Run every cell in order, write the executed notebook, stop at the first failing cell.") { input, parameters, output, timeout };
        run.SetAction(async (parse, ct) =>
        {
            string path = parse.GetValue(input)!;
            var files = Directory.Exists(path) ? Directory.GetFiles(path, "*.ipynb").Order(StringComparer.Ordinal).ToArray()
                : File.Exists(path) ? [path] : throw new FileNotFoundException($"Notebook not found: {path}", path);
            if (files.Length == 0) throw new FileNotFoundException($"No .ipynb files in {path}");
            var values = new Dictionary<string, string>();
            foreach (var p in parse.GetValue(parameters) ?? [])
            {
                int eq = p.IndexOf('=');
                if (eq <= 0) throw new ArgumentException($"-p {p}: expected name=value");
                values[p[..eq].Trim()] = p[(eq + 1)..];
            }
            string outDir = Path.GetFullPath(parse.GetValue(output)!);
            var options = new NotebookRunOptions(values, TimeSpan.FromSeconds(parse.GetValue(timeout)), IgnoreUnknownParameters: files.Length > 1);
            int failures = 0;
            foreach (var file in files)
            {
                io.Err.WriteLine($"running {file}");
                var result = await NotebookRunner.RunAsync(file, options, io.Err, ct);
                string target = Path.Combine(outDir, Path.GetFileName(file));
                result.Notebook.Save(target);
                io.Out.WriteLine($"{result.Summary}; wrote {target}");
                if (!result.Succeeded) failures++;
            }
            return failures == 0 ? 0 : 1;
        });
        command.Subcommands.Add(run);
        return command;
    }
}
