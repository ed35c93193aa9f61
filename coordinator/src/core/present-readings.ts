/** The UPSes' present charge and runtime (and their low thresholds), as the watchers last reported them. */
export function presentReadings(rows: readonly { ups: string; vars: Readonly<Record<string, string>> }[]) {
  const number = (text: string | undefined) =>
    text === undefined || Number.isNaN(Number(text)) ? undefined : Number(text);
  const seconds = (text: string | undefined) => {
    const value = number(text);
    return value === undefined ? undefined : value * 1000;
  };
  return Object.fromEntries(
    rows.map((row) => {
      const { vars } = row;
      const reading = {
        charge: number(vars['battery.charge']),
        runtime: seconds(vars['battery.runtime']),
        lowBatteryCharge: number(vars['battery.charge.low']),
        lowBatteryRuntime: seconds(vars['battery.runtime.low']),
      };
      return [row.ups, Object.fromEntries(Object.entries(reading).filter(([, v]) => v !== undefined))];
    }),
  );
}
